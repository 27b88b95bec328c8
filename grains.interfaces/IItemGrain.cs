namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// An item, as callers address it (key: the item id): its count N, its co-occurrence row C, its purchase count and
/// row, and its factor vector. The item's state is held by its item shard (<see cref="IItemShardGrain"/>); this
/// grain is a stateless router to it, on the caller's silo.
/// </summary>
public interface IItemGrain : IGrainWithStringKey
{
    /// <summary>The item's count and its <paramref name="count"/> largest co-occurrences.</summary>
    /// <param name="count">How many entries of each row.</param>
    Task<ItemCooccurrence> GetCooccurrenceAsync(int count);
}
