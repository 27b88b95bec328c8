namespace RecoCluster.Cluster;

/// <summary>TLS on Orleans' links: silo to silo and gateway to silo. Section <c>Reco:Orleans:Tls</c>. Every process
/// of a cluster presents a certificate and checks its peer's (mutual TLS), so a process without one the cluster
/// trusts can neither join nor call grains. The files are PEM, as a Kubernetes TLS Secret mounts them.</summary>
public sealed class OrleansTlsOptions
{
    /// <summary>The certificate this process presents (PEM, leaf first, then any intermediates), such as a TLS
    /// Secret's <c>tls.crt</c>. Empty: Orleans' links are plain TCP.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Its private key (PEM), such as <c>tls.key</c>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The certificate authorities (PEM) a peer's certificate must chain to, such as <c>ca.crt</c>. Empty:
    /// the peer's certificate must chain to this process's own, which suits one self-signed certificate shared by the
    /// whole cluster.</summary>
    public string? CaPath { get; set; }

    /// <summary>Whether Orleans' links use TLS.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}
