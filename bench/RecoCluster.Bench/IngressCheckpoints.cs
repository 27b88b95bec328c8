using RecoCluster.Silo.Storage;

namespace RecoCluster.Bench;

/// <summary>
/// How far a cluster's partition ingresses have got, read from their checkpoints in the cluster's database: the
/// benches' measure of progress on Orleans. A checkpoint moves only once its batch's users are stored (with its item
/// side) and every item shard of the batch has stored its items (see <c>PartitionIngressGrain</c>), so the sum of the
/// partitions' next offsets is the number of records applied on both sides, dead-lettered ones included (the bench
/// workloads have none).
/// </summary>
public sealed class IngressCheckpoints : IAsyncDisposable
{
    private readonly GrainStore _store;

    private IngressCheckpoints(GrainStore store) => _store = store;

    /// <summary>Opens the database the silos store into (nothing is read yet). The schema must exist before the
    /// first <see cref="ReadAsync"/>: a silo creates it as it starts.</summary>
    public static IngressCheckpoints Open(string provider, string connectionString) =>
        new(GrainStore.Open(new StorageOptions { Provider = provider, ConnectionString = connectionString }));

    /// <summary>Creates the schema, for a bench that reads the checkpoints before any silo has started.</summary>
    public Task MigrateAsync(CancellationToken ct = default) => _store.MigrateAsync(ct);

    /// <summary>Partitions claimed by an ingress so far (one starts reading right after its claim), events stored
    /// on both sides, and events stored on the user side: a batch's users are stored with its end
    /// (<c>pending_end</c>) before its item side goes to the shards, so the user side is ahead by the batch in
    /// flight.</summary>
    public async Task<(int Claimed, long Stored, long UserSide)> ReadAsync(CancellationToken ct = default)
    {
        var checkpoints = await _store.ReadIngressCheckpointsAsync(ct);
        // A claimed partition with nothing stored yet has a next offset of -1.
        return (
            checkpoints.Count,
            checkpoints.Values.Sum(c => Math.Max(0, c.NextOffset)),
            checkpoints.Values.Sum(c => Math.Max(0, Math.Max(c.NextOffset, c.PendingEnd ?? -1))));
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();
}
