namespace RecoCluster.Grains.Model;

/// <summary>The persistent state of an <see cref="ItemModel"/>.</summary>
[GenerateSerializer, Alias("reco.ItemGrainState")]
public sealed class ItemGrainState
{
    /// <summary>N[item]: events on the item.</summary>
    [Id(0)]
    public long Count { get; set; }

    /// <summary>C[item][other], for every other item with a non-zero count.</summary>
    [Id(1)]
    public Dictionary<string, long> Row { get; set; } = new(StringComparer.Ordinal);

    /// <summary>NP[item]: purchases of the item.</summary>
    [Id(2)]
    public long PurchaseCount { get; set; }

    /// <summary>P[item][other]: how often the item was bought together with the other (same user, same window).</summary>
    [Id(3)]
    public Dictionary<string, long> PurchaseRow { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The item's factor vector: its initial vector plus every step applied; null until the first.</summary>
    [Id(4)]
    public float[]? Factors { get; set; }
}
