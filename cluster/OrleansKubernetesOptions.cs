namespace RecoCluster.Cluster;

/// <summary>Orleans' Kubernetes hosting on silos (<c>Microsoft.Orleans.Hosting.Kubernetes</c>). Section
/// <c>Reco:Orleans:Kubernetes</c>.</summary>
/// <remarks>With it on, a silo takes its name from its pod (<c>POD_NAME</c>, with <c>POD_NAMESPACE</c> and
/// <c>POD_IP</c>) and up to two silos watch the cluster's pods through the Kubernetes API: a deleted pod's silo is
/// declared dead at once, instead of after the missed probes that would otherwise take Orleans half a minute, and a
/// member whose pod no longer exists is declared dead when a silo starts. The silos' service account must be
/// allowed to get, list, watch and patch pods (<c>deploy/k8s/base/silo-rbac.yaml</c>). A silo that cannot reach the
/// API retries for about ten seconds, then fails to start: leave this off outside Kubernetes.</remarks>
public sealed class OrleansKubernetesOptions
{
    /// <summary>Whether silos use Orleans' Kubernetes hosting.</summary>
    public bool Enabled { get; set; }

    /// <summary>A kubeconfig file to reach the API server with, for a silo running outside the cluster. Empty: the
    /// pod's own service account (in-cluster configuration).</summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>Also delete the pod of a silo that the membership declared dead (a hung process whose pod still
    /// runs), so that its Deployment replaces it. Needs the <c>delete</c> verb on pods as well.</summary>
    public bool DeleteDefunctSiloPods { get; set; }
}
