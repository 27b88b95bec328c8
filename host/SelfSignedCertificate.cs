using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RecoCluster.Host;

/// <summary>A throwaway self-signed certificate for trying TLS on one machine (<c>reco dev-cert DIR</c>), and for
/// the tests and the query bench. Not for production, where the cluster's authority (cert-manager, say) issues
/// them.</summary>
/// <param name="Certificate">The certificate, without its key.</param>
/// <param name="CertificatePath">Its PEM file.</param>
/// <param name="KeyPath">Its private key's PEM file (readable by the owner only).</param>
public sealed record SelfSignedCertificate(X509Certificate2 Certificate, string CertificatePath, string KeyPath)
{
    /// <summary>The file names written, as a Kubernetes TLS Secret names its keys.</summary>
    public const string CertificateFile = "tls.crt";

    /// <summary>The private key's file.</summary>
    public const string KeyFile = "tls.key";

    /// <summary>Writes a certificate for <c>localhost</c>, 127.0.0.1 and ::1, good for TLS servers and clients
    /// (Orleans' links are mutual), and its key (readable by the owner only) into <paramref name="directory"/>.</summary>
    public static SelfSignedCertificate Write(string directory, string subject, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={subject}"), key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "server authentication"), new Oid("1.3.6.1.5.5.7.3.2", "client authentication")], critical: false));
        var now = DateTimeOffset.UtcNow;
        // Valid from a minute ago: another machine's clock may be a little behind this one's.
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-1), now + lifetime);

        var certificatePath = Path.Combine(directory, CertificateFile);
        var keyPath = Path.Combine(directory, KeyFile);
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, string.Empty);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return new SelfSignedCertificate(X509CertificateLoader.LoadCertificate(certificate.RawData), certificatePath, keyPath);
    }

    /// <summary>A TLS client's validation that trusts this certificate and nothing else: the server presented
    /// exactly it (self-signed, no chain would vouch for it).</summary>
    public bool IsThis(object sender, X509Certificate? presented, X509Chain? chain, System.Net.Security.SslPolicyErrors errors) =>
        presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(Certificate.RawData);

    /// <summary>An HTTP handler that trusts this certificate alone.</summary>
    public SocketsHttpHandler TrustingHandler() => new() { SslOptions = { RemoteCertificateValidationCallback = IsThis } };
}
