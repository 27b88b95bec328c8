using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Serving;

/// <summary>The answer of <c>GET /v1/admin/cluster</c> on Orleans: the active silos as Orleans' membership lists
/// them, every events partition's ingress as it reports itself, and the newest published neighborhood version.</summary>
/// <param name="Runtime">"orleans".</param>
/// <param name="PartitionCount">Partitions of the events topic (0 while Kafka has not answered).</param>
/// <param name="Silos">The active silos.</param>
/// <param name="Partitions">One entry per events partition, in partition order.</param>
/// <param name="PublishedVersion">The newest neighborhood snapshot version published (0 before the first round); null
/// when the round grain did not answer (its silo is failing over).</param>
/// <param name="NeighborhoodRoundSilo">The silo the neighborhood round grain runs on (its address); null when it did
/// not answer.</param>
public sealed record ClusterView(string Runtime, int PartitionCount, IReadOnlyList<ClusterView.SiloView> Silos, IReadOnlyList<ClusterView.PartitionView> Partitions, long? PublishedVersion, string? NeighborhoodRoundSilo)
{
    /// <summary>A silo, from Orleans' membership.</summary>
    /// <param name="Address">Its Orleans address (endpoint and generation); ingresses name their silo by it.</param>
    /// <param name="Name">Its name (the pod name in Kubernetes).</param>
    /// <param name="Host">The machine it runs on.</param>
    /// <param name="StartedAt">When it started.</param>
    /// <param name="Ingresses">The events partitions whose ingress it runs.</param>
    /// <param name="Serving">What it serves, as it reports itself; null when it did not answer.</param>
    /// <param name="Error">Why it did not answer; null when it did.</param>
    public sealed record SiloView(string Address, string Name, string Host, DateTimeOffset StartedAt, IReadOnlyList<int> Ingresses, SiloStatusReport? Serving, string? Error)
    {
        /// <summary>Whether the silo answered for itself.</summary>
        public bool Reachable => Error is null;
    }

    /// <summary>An events partition's ingress.</summary>
    /// <param name="Partition">The partition.</param>
    /// <param name="Status">What the ingress reports; null when it did not answer.</param>
    /// <param name="Lag">Records between its committed position and the end of the log, when both are known.</param>
    /// <param name="Error">Why the ingress did not answer; null when it did.</param>
    public sealed record PartitionView(int Partition, IngressStatus? Status, long? Lag, string? Error);
}
