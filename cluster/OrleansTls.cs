using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace RecoCluster.Cluster;

/// <summary>Orleans' own TLS (<c>Microsoft.Orleans.Connections.Security</c>) on a silo's or client's links, from
/// <see cref="OrleansTlsOptions"/>: mutual, with peers trusted by their chain to the configured authorities.</summary>
public static class OrleansTls
{
    /// <summary>Makes the silo's silo and gateway ports, and its calls to other silos, TLS.</summary>
    public static ISiloBuilder UseRecoTls(this ISiloBuilder builder, OrleansTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return Prepare(options) is { } tls ? builder.UseTls(tls.Certificate, tls.Configure) : builder;
    }

    /// <summary>Makes the client's (the gateway's) connections to silos TLS.</summary>
    public static IClientBuilder UseRecoTls(this IClientBuilder builder, OrleansTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return Prepare(options) is { } tls ? builder.UseTls(tls.Certificate, tls.Configure) : builder;
    }

    /// <summary>Whether a peer's certificate is one the cluster trusts: it chains to one of
    /// <paramref name="anchors"/>.</summary>
    /// <remarks>The host name is not checked (<see cref="SslPolicyErrors.RemoteCertificateNameMismatch"/> is
    /// ignored): silos and clients dial the IP addresses in the membership table, which no certificate names, so
    /// a peer is who it says it is when the cluster's authority signed its certificate. Revocation is not checked
    /// either: a cluster's private authority publishes no revocation list; a leaked key is answered by replacing
    /// the authority's Secret and rolling the pods.</remarks>
    public static bool IsTrusted(X509Certificate2 certificate, SslPolicyErrors errors, X509Certificate2Collection anchors)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(anchors);
        if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    // The certificate and the options for Orleans' UseTls, or null when TLS is off.
    private static (X509Certificate2 Certificate, Action<TlsOptions> Configure)? Prepare(OrleansTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return null;
        }

        var (certificate, anchors) = Load(options);
        return (certificate, tls => Configure(tls, anchors));
    }

    private static void Configure(TlsOptions tls, X509Certificate2Collection anchors)
    {
        // Mutual: a silo requires a client certificate (a gateway without one cannot call grains), and every
        // process presents its certificate when it dials.
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.RemoteCertificateValidation = (certificate, _, errors) => IsTrusted(certificate, errors, anchors);
    }

    private static (X509Certificate2 Certificate, X509Certificate2Collection Anchors) Load(OrleansTlsOptions options)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(options.CertificatePath!, options.KeyPath);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
        {
            throw new InvalidOperationException(
                $"Reco:Orleans:Tls: cannot load the certificate '{options.CertificatePath}' with the key '{options.KeyPath}' (PEM files expected): {e.Message}", e);
        }

        var anchors = new X509Certificate2Collection();
        if (string.IsNullOrWhiteSpace(options.CaPath))
        {
            anchors.Add(X509CertificateLoader.LoadCertificate(certificate.RawData));
        }
        else
        {
            anchors.ImportFromPemFile(options.CaPath);
            if (anchors.Count == 0)
            {
                throw new InvalidOperationException($"Reco:Orleans:Tls:CaPath '{options.CaPath}' holds no PEM certificate.");
            }
        }

        return (certificate, anchors);
    }
}
