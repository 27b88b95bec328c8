namespace RecoCluster.Grains.Model;

/// <summary>The stored state of an <see cref="ItemModel"/>: plain data with item ids as strings (the model's item
/// numbers are local to its silo). Rows are two parallel arrays, in no particular order.
/// Stored through <see cref="ItemGrainStateCodec"/>.</summary>
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

    /// <summary>C[item][·] as (other item, count) pairs.</summary>
    public IEnumerable<KeyValuePair<string, long>> Row() => Pairs(RowItems, RowCounts);

    /// <summary>P[item][·] as (other item, count) pairs.</summary>
    public IEnumerable<KeyValuePair<string, long>> PurchaseRow() => Pairs(PurchaseItems, PurchaseCounts);

    /// <summary>S[item][·] as (next item, weight) pairs.</summary>
    public IEnumerable<KeyValuePair<string, long>> NextRow() => Pairs(NextItems, NextCounts);

    private static IEnumerable<KeyValuePair<string, long>> Pairs(string[] items, long[] counts)
    {
        for (var i = 0; i < items.Length; i++)
        {
            yield return KeyValuePair.Create(items[i], counts[i]);
        }
    }
}
