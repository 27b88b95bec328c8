using Orleans.Concurrency;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// One shard of the items (key: the shard number, an item's shard is a hash of its id): it holds its items' counts,
/// rows and vectors, applies the combined item side of every events partition's batches, and stores its items and
/// its watermarks (per events partition, the end of the last batch it stored) together. One activation in the
/// cluster.
/// </summary>
public interface IItemShardGrain : IGrainWithIntegerKey
{
    /// <summary>Activates the shard if it is not running (every silo's keeper calls this, so that it moves with
    /// the membership as ingresses do) and says where it runs.</summary>
    Task<string> EnsureRunningAsync();

    /// <summary>
    /// Adds the deltas of one batch of one events partition, for this shard's items, and answers once they are
    /// stored. A batch at or below the shard's watermark for <paramref name="sourcePartition"/> is a replay and is
    /// dropped, so every batch counts exactly once. Calls from several partitions interleave, so that their batches
    /// share the shard's writes.
    /// </summary>
    /// <param name="sourcePartition">The events partition the batch comes from.</param>
    /// <param name="batchEnd">The batch's end offset (exclusive) in that partition.</param>
    /// <param name="batch">The combined deltas of the batch's items that belong to this shard.</param>
    /// <returns>True when applied, false when dropped as a replay.</returns>
    [AlwaysInterleave]
    Task<bool> ApplyAsync(int sourcePartition, long batchEnd, ItemDeltaBatch batch);

    /// <summary>An item's count and its <paramref name="count"/> largest co-occurrences. Reads memory, or storage
    /// for an item not in memory; interleaves with <see cref="ApplyAsync"/>.</summary>
    [AlwaysInterleave]
    Task<ItemCooccurrence> GetCooccurrenceAsync(string itemId, int count);
}
