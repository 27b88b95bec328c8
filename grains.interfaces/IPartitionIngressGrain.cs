using Orleans.Concurrency;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// The reader of one events partition (key: the partition number), and the holder of its users: events are keyed by
/// user, so every event of a user arrives on one partition. One activation in the cluster; it cuts the partition
/// into batches, applies each to its users, stores the users with the batch's item side, sends the item side to the
/// item shards, and checkpoints the batch once they have stored it.
/// </summary>
public interface IPartitionIngressGrain : IGrainWithIntegerKey
{
    /// <summary>Activates the ingress if it is not running (every silo's keeper calls this) and reports on it.</summary>
    Task<IngressStatus> EnsureRunningAsync();

    /// <summary>A user's history (null for a user with no events, or erased): memory, or storage for a user not in
    /// memory. Interleaves with the batches: it sees the last batch applied, stored or not yet. Waits, bounded, for
    /// the records below <paramref name="at"/>'s position to be applied (read-your-writes).</summary>
    [AlwaysInterleave]
    Task<UserHistoryRead> GetUserHistoryAsync(string userId, ReadPosition at);

    /// <summary>What the recommender needs from a user (window and vector, copied), or null for a user with no
    /// events; read as <see cref="GetUserHistoryAsync"/> is.</summary>
    [AlwaysInterleave]
    Task<UserInputRead> GetUserInputAsync(string userId, ReadPosition at);

    /// <summary>Whether every record of the partition below <paramref name="position"/> is committed (stored in its
    /// users and in the item shards, where a neighborhood round reads it), waiting for it at most
    /// <paramref name="maxWait"/>.</summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:02:00")]
    Task<bool> WaitCommittedAsync(long position, TimeSpan maxWait);
}

/// <summary>What a partition ingress reports.</summary>
/// <param name="Partition">The events partition.</param>
/// <param name="Silo">The silo it runs on.</param>
/// <param name="Epoch">Its claim's epoch.</param>
/// <param name="Committed">Every record below this offset is stored in its users and items (-1: nothing yet).</param>
/// <param name="HighWatermark">The partition's end of log, as last seen (-1: not known yet).</param>
/// <param name="Batches">Batches it stored since it started.</param>
/// <param name="Applied">Events it applied since it started.</param>
/// <param name="Invalid">Records it dead-lettered since it started.</param>
/// <param name="LastError">The error of the last failed batch, while it is being retried; null when healthy.</param>
/// <param name="Blocked">Why the ingress has stopped until an operator acts (its stored position is outside the
/// log, naming the partition and both offsets); null while it runs.</param>
/// <param name="UsersInMemory">Users of the partition held in memory.</param>
/// <param name="BatchLimit">The most records its batches take now: <c>Reco:Ingress:MaxBatchRecords</c>, or less
/// while its silo shares its record budget among many partitions (<c>Reco:Ingress:SiloRecordBudget</c>).</param>
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
    string? Blocked,
    int UsersInMemory = 0,
    int BatchLimit = 0);
