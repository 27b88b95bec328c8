using System.Security.Cryptography.X509Certificates;
using RecoCluster.Host;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>A throwaway self-signed certificate in PEM files (<see cref="SelfSignedCertificate"/>), and an HTTP
/// client handler that trusts it and nothing else.</summary>
public sealed record TestCertificate(X509Certificate2 Certificate, string CertificatePath, string KeyPath)
{
    public static TestCertificate Create(string directory, string subject)
    {
        var (certificate, certificatePath, keyPath) = SelfSignedCertificate.Write(directory, subject, TimeSpan.FromHours(2));
        return new TestCertificate(certificate, certificatePath, keyPath);
    }

    /// <summary>Trusts a server that presents exactly this certificate (it is self-signed, so no chain would).</summary>
    public SocketsHttpHandler TrustingHandler() => new()
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(Certificate.RawData) },
    };
}
