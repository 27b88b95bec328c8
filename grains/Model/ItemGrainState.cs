namespace RecoCluster.Grains.Model;

/// <summary>The persistent state of an <see cref="ItemModel"/>.</summary>
public sealed class ItemGrainState
{
    /// <summary>N[item]: events on the item.</summary>
    public long Count { get; set; }

    /// <summary>C[item][other], for every other item with a non-zero count.</summary>
    public Dictionary<string, long> Row { get; set; } = new(StringComparer.Ordinal);

    /// <summary>NP[item]: purchases of the item.</summary>
    public long PurchaseCount { get; set; }

    /// <summary>P[item][other]: how often the item was bought together with the other (same user, same window).</summary>
    public Dictionary<string, long> PurchaseRow { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The item's factor vector: its initial vector plus every step applied; null until the first.</summary>
    public float[]? Factors { get; set; }
}
