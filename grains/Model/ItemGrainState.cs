using System.Runtime.InteropServices;

namespace RecoCluster.Grains.Model;

/// <summary>The stored state of an <see cref="ItemModel"/>: plain data with item ids as strings (the model's item
/// numbers are local to its silo). Rows are two parallel arrays, in no particular order.
/// Stored through <see cref="ItemGrainStateCodec"/>.</summary>
/// <remarks>The same shape holds a stored change (an entry of the item's log, <see cref="ItemShard.TakeWrite"/>):
/// counts and row entries to add, where an id may appear more than once, and the vector as it was when the change
/// was written, or null when it did not move. <see cref="Add"/> adds one to a state.</remarks>
public sealed class ItemGrainState
{
    /// <summary>N[item]: the weighted events on the item.</summary>
    public long Count { get; set; }

    /// <summary>The other items of C[item][·], every one with a non-zero count.</summary>
    public string[] RowItems { get; set; } = [];

    /// <summary>C[item][RowItems[k]].</summary>
    public long[] RowCounts { get; set; } = [];

    /// <summary>NP[item]: purchases of the item.</summary>
    public long PurchaseCount { get; set; }

    /// <summary>The other items of P[item][·]: bought together with the item (same user, same window).</summary>
    public string[] PurchaseItems { get; set; } = [];

    /// <summary>P[item][PurchaseItems[k]].</summary>
    public long[] PurchaseCounts { get; set; } = [];

    /// <summary>The other items of S[item][·]: items that came after this one in users' streams.</summary>
    public string[] NextItems { get; set; } = [];

    /// <summary>S[item][NextItems[k]]: the sequential weights (docs/algorithms.md, "Sequential rules").</summary>
    public long[] NextCounts { get; set; } = [];

    /// <summary>The item's factor vector: its initial vector plus every step applied; null until the first.</summary>
    public float[]? Factors { get; set; }

    /// <summary>Adds a stored change (a log entry) to this state: its counts and row entries are added, and its
    /// vector, when it has one, replaces this one. The rows stay free of repeated ids.</summary>
    public void Add(ItemGrainState change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Count += change.Count;
        PurchaseCount += change.PurchaseCount;
        (RowItems, RowCounts) = Merge(RowItems, RowCounts, change.RowItems, change.RowCounts);
        (PurchaseItems, PurchaseCounts) = Merge(PurchaseItems, PurchaseCounts, change.PurchaseItems, change.PurchaseCounts);
        (NextItems, NextCounts) = Merge(NextItems, NextCounts, change.NextItems, change.NextCounts);
        if (change.Factors is not null)
        {
            Factors = change.Factors;
        }
    }

    /// <summary>C[item][·] as (other item, count) pairs.</summary>
    public IEnumerable<KeyValuePair<string, long>> Row() => Pairs(RowItems, RowCounts);

    /// <summary>P[item][·] as (other item, count) pairs.</summary>
    public IEnumerable<KeyValuePair<string, long>> PurchaseRow() => Pairs(PurchaseItems, PurchaseCounts);

    /// <summary>S[item][·] as (next item, weight) pairs.</summary>
    public IEnumerable<KeyValuePair<string, long>> NextRow() => Pairs(NextItems, NextCounts);

    // A dictionary keeps insertion order while nothing is removed, so its keys and values come out aligned.
    private static (string[] Items, long[] Counts) Merge(string[] items, long[] counts, string[] added, long[] addedCounts)
    {
        if (added.Length == 0)
        {
            return (items, counts);
        }

        var merged = new Dictionary<string, long>(items.Length + added.Length, StringComparer.Ordinal);
        for (var i = 0; i < items.Length; i++)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(merged, items[i], out _) += counts[i];
        }

        for (var i = 0; i < added.Length; i++)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(merged, added[i], out _) += addedCounts[i];
        }

        return ([.. merged.Keys], [.. merged.Values]);
    }

    private static IEnumerable<KeyValuePair<string, long>> Pairs(string[] items, long[] counts)
    {
        for (var i = 0; i < items.Length; i++)
        {
            yield return KeyValuePair.Create(items[i], counts[i]);
        }
    }
}
