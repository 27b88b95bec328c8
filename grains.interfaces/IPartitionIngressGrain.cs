namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// The reader of one events partition (key: the partition number). One activation in the cluster; it cuts the
/// partition into batches and feeds each to its user grains and then to the item grains, and checkpoints the
/// batch once both sides have stored it.
/// </summary>
public interface IPartitionIngressGrain : IGrainWithIntegerKey
{
    /// <summary>Activates the ingress if it is not running (every silo's keeper calls this) and reports on it.</summary>
    Task<IngressStatus> EnsureRunningAsync();
}

/// <summary>What a partition ingress reports.</summary>
/// <param name="Partition">The events partition.</param>
/// <param name="Silo">The silo it runs on.</param>
/// <param name="Epoch">Its claim's epoch.</param>
/// <param name="Committed">Every record below this offset is stored in the grains (-1: nothing yet).</param>
/// <param name="HighWatermark">The partition's end of log, as last seen (-1: not known yet).</param>
/// <param name="Batches">Batches it stored since it started.</param>
/// <param name="Applied">Events it applied since it started.</param>
/// <param name="Invalid">Records it dead-lettered since it started.</param>
/// <param name="LastError">The error of the last failed batch, while it is being retried; null when healthy.</param>
/// <param name="Blocked">Why the ingress has stopped until an operator acts (its stored position is outside the
/// log, naming the partition and both offsets); null while it runs.</param>
[GenerateSerializer, Immutable, Alias("reco.IngressStatus")]
public sealed record IngressStatus(
    int Partition,
    string Silo,
    long Epoch,
    long Committed,
    long HighWatermark,
    long Batches,
    long Applied,
    long Invalid,
    string? LastError,
    string? Blocked);
