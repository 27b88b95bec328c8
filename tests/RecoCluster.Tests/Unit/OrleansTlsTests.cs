using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RecoCluster.Host;
using RecoCluster.Cluster;

namespace RecoCluster.Tests.Unit;

/// <summary>Which peer certificates Orleans' links accept (<see cref="OrleansTls.IsTrusted"/>), on real certificates.</summary>
public sealed class OrleansTlsTests
{
    [Fact]
    public void A_peer_is_trusted_by_its_chain_to_the_clusters_authority_whatever_address_it_was_dialled_at()
    {
        using var authority = Authority("reco-cluster-ca");
        using var silo = Issue(authority, "reco-silo-7f9c");
        using var otherAuthority = Authority("reco-cluster-ca");
        using var stranger = Issue(otherAuthority, "reco-silo-7f9c");
        var anchors = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(authority.RawData) };

        Assert.True(OrleansTls.IsTrusted(silo, SslPolicyErrors.None, anchors));
        // Dialled at a pod IP the certificate does not name, and unknown to the machine's store: still trusted.
        Assert.True(OrleansTls.IsTrusted(silo, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors, anchors));
        Assert.False(OrleansTls.IsTrusted(stranger, SslPolicyErrors.None, anchors));
        Assert.False(OrleansTls.IsTrusted(authority, SslPolicyErrors.RemoteCertificateNotAvailable, anchors));
    }

    [Fact]
    public void Without_an_authority_a_peer_must_hold_the_same_self_signed_certificate()
    {
        var dir = Directory.CreateTempSubdirectory("reco-tls-unit-").FullName;
        try
        {
            var shared = SelfSignedCertificate.Write(Path.Combine(dir, "shared"), "reco-cluster", TimeSpan.FromHours(2));
            var other = SelfSignedCertificate.Write(Path.Combine(dir, "other"), "reco-cluster", TimeSpan.FromHours(2));
            var anchors = new X509Certificate2Collection { shared.Certificate };

            Assert.True(OrleansTls.IsTrusted(shared.Certificate, SslPolicyErrors.RemoteCertificateChainErrors, anchors));
            Assert.False(OrleansTls.IsTrusted(other.Certificate, SslPolicyErrors.RemoteCertificateChainErrors, anchors));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, critical: true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        return request.Create(authority, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(30), RandomNumberGenerator.GetBytes(8));
    }
}
