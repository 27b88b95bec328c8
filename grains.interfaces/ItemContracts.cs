namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// Where a user model sends the item side of an event. The user grain collects a batch's item side in a
/// <c>DeltaCombiner</c> and returns it; the partition's ingress combines it over the batch and calls each item grain
/// once with its share.
/// </summary>
public interface IItemDeltaSink
{
    /// <summary>Adds <paramref name="count"/> to the co-occurrence count C[<paramref name="itemId"/>][<paramref name="otherItemId"/>].</summary>
    void AddCooccurrence(string itemId, string otherItemId, long count);

    /// <summary>Adds <paramref name="count"/> to the item count N[<paramref name="itemId"/>].</summary>
    void AddItemCount(string itemId, long count);

    /// <summary>Adds <paramref name="count"/> to the purchase co-occurrence P[<paramref name="itemId"/>][<paramref name="otherItemId"/>]
    /// (both items bought by the same user within the window), which cart complements come from.</summary>
    void AddPurchaseCooccurrence(string itemId, string otherItemId, long count);

    /// <summary>Adds <paramref name="count"/> to the purchase count NP[<paramref name="itemId"/>].</summary>
    void AddPurchaseCount(string itemId, long count);

    /// <summary>Adds <paramref name="delta"/> (an SGD step, already scaled) to the item's factor vector.</summary>
    void AddFactorDelta(string itemId, ReadOnlySpan<float> delta);
}

/// <summary>The combined item side of a micro-batch of events, for one item.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Count">Added to N[item].</param>
/// <param name="Row">Added to C[item][other], per other item.</param>
/// <param name="PurchaseCount">Added to NP[item].</param>
/// <param name="PurchaseRow">Added to P[item][other], per other item; null when empty.</param>
/// <param name="FactorDelta">Added to the item's factor vector; null when the batch did not touch it.</param>
[GenerateSerializer, Immutable, Alias("reco.ItemDelta")]
public sealed record ItemDelta(
    string ItemId,
    long Count,
    IReadOnlyDictionary<string, long> Row,
    long PurchaseCount = 0,
    IReadOnlyDictionary<string, long>? PurchaseRow = null,
    float[]? FactorDelta = null);

/// <summary>
/// The item side of one batch of one events partition, for a set of items: what the first runtime sent over its
/// shuffle topic, kept as the unit the memory bench and <c>ItemCodec</c>'s tests measure stored bytes with (the
/// Orleans ingress calls item grains with one <see cref="ItemDelta"/> each). <see cref="BatchEnd"/> is the first
/// source offset not included; an item applies it only above its watermark for <see cref="SourcePartition"/>.
/// </summary>
/// <param name="SourcePartition">The events partition the batch comes from.</param>
/// <param name="BatchEnd">The source checkpoint offset the batch ends at (exclusive).</param>
/// <param name="Items">The deltas, one per item.</param>
public sealed record ItemDeltaBatch(int SourcePartition, long BatchEnd, IReadOnlyList<ItemDelta> Items);

/// <summary>One entry of a co-occurrence row.</summary>
/// <param name="ItemId">The other item.</param>
/// <param name="Count">C[item][other].</param>
[GenerateSerializer, Immutable, Alias("reco.Neighbor")]
public sealed record Neighbor(string ItemId, long Count);

/// <summary>An item's count and co-occurrence row, as <c>GET /v1/admin/items/{itemId}/cooccurrence</c> serves it.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Count">N[item].</param>
/// <param name="RowLength">How many other items co-occur with it.</param>
/// <param name="Neighbors">The largest entries of the row: count descending, ties by item id (ordinal).</param>
/// <param name="PurchaseCount">NP[item]: purchases of the item that reached the item side.</param>
/// <param name="PurchaseRowLength">How many other items were bought together with it.</param>
/// <param name="PurchaseNeighbors">The largest entries of the purchase row, ordered like <paramref name="Neighbors"/>.</param>
[GenerateSerializer, Immutable, Alias("reco.ItemCooccurrence")]
public sealed record ItemCooccurrence(
    string ItemId,
    long Count,
    int RowLength,
    IReadOnlyList<Neighbor> Neighbors,
    long PurchaseCount = 0,
    int PurchaseRowLength = 0,
    IReadOnlyList<Neighbor>? PurchaseNeighbors = null);
