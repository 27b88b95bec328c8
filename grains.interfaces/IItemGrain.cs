using Orleans.Concurrency;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// An item: its count N, its co-occurrence row C, its purchase count and row, and its factor vector. Key: the item
/// id. Fed by the ingress of every events partition, each sending one combined delta per batch.
/// </summary>
public interface IItemGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds the combined item side of one batch of one events partition, and answers once the new state is stored.
    /// A batch at or below the item's watermark for <paramref name="sourcePartition"/> (the last batch end it stored
    /// from there) is a replay and is dropped, so every batch counts exactly once. Calls from several partitions
    /// interleave, so that the batches that meet at a popular item share one write instead of queueing for one
    /// each.
    /// </summary>
    /// <param name="sourcePartition">The events partition the batch comes from.</param>
    /// <param name="batchEnd">The batch's end offset (exclusive) in that partition.</param>
    /// <param name="delta">The item's combined delta in that batch.</param>
    /// <returns>True when applied, false when dropped as a replay.</returns>
    [AlwaysInterleave]
    Task<bool> ApplyAsync(int sourcePartition, long batchEnd, ItemDelta delta);

    /// <summary>The item's count and its <paramref name="count"/> largest co-occurrences. Reads memory only and
    /// interleaves with <see cref="ApplyAsync"/>.</summary>
    /// <param name="count">How many entries of each row.</param>
    [AlwaysInterleave]
    Task<ItemCooccurrence> GetCooccurrenceAsync(int count);
}
