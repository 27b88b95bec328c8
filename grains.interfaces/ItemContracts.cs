namespace RecoCluster.Grains.Interfaces;

/// <summary>The combined item side of one batch of one events partition, for one item: what the ingress sends the
/// item's shard, and stores (all items of the batch) before it sends any of it.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Count">Added to N[item].</param>
/// <param name="Others">The other items whose co-occurrence with this one changes.</param>
/// <param name="OtherCounts">Added to C[item][Others[k]], in the order of <paramref name="Others"/>.</param>
/// <param name="PurchaseCount">Added to NP[item].</param>
/// <param name="PurchaseOthers">The items bought together with this one in the batch; null when none.</param>
/// <param name="PurchaseOtherCounts">Added to P[item][PurchaseOthers[k]]; null when none.</param>
/// <param name="FactorDelta">Added to the item's factor vector; null when the batch did not touch it.</param>
/// <param name="NextOthers">The items that came after this one in a user's stream in the batch; null when none.</param>
/// <param name="NextOtherCounts">Added to S[item][NextOthers[k]] (sequential weights); null when none.</param>
[GenerateSerializer, Immutable, Alias("reco.ItemDelta")]
public sealed record ItemDelta(
    string ItemId,
    long Count,
    string[] Others,
    long[] OtherCounts,
    long PurchaseCount = 0,
    string[]? PurchaseOthers = null,
    long[]? PurchaseOtherCounts = null,
    float[]? FactorDelta = null,
    string[]? NextOthers = null,
    long[]? NextOtherCounts = null)
{
    /// <summary>
    /// Within one silo: its rows' other items as that silo's item numbers as well, so that an item shard of the silo
    /// adds them without looking every id up (a dictionary lookup per row entry; docs/benchmarks.md, "An item
    /// shard's batch"). Never serialized: the silo that combined the delta sets them, and a silo that decodes a
    /// batch from another silo or from storage numbers it again with its own table
    /// (<c>RecoCluster.Grains.Model.ItemDeltaCodec.Decode</c>). Null when absent; the ids are then looked up.
    /// </summary>
    [field: NonSerialized]
    public ItemDeltaNumbers? Numbers { get; init; }
}

/// <summary>An <see cref="ItemDelta"/>'s rows' other items as numbers of one silo's item id table, entry for entry
/// (<see cref="ItemDelta.Numbers"/>).</summary>
/// <param name="Table">The table that gave the numbers (the silo's <c>RecoCluster.Grains.Model.ItemIdTable</c>): a
/// shard uses them only when its own table is this one.</param>
/// <param name="Item">The number of <see cref="ItemDelta.ItemId"/>.</param>
/// <param name="Others">The numbers of <see cref="ItemDelta.Others"/>, in its order.</param>
/// <param name="PurchaseOthers">The numbers of <see cref="ItemDelta.PurchaseOthers"/>; null when it is null.</param>
/// <param name="NextOthers">The numbers of <see cref="ItemDelta.NextOthers"/>; null when it is null.</param>
[Immutable]
public sealed record ItemDeltaNumbers(object Table, int Item, int[] Others, int[]? PurchaseOthers, int[]? NextOthers);

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
/// <param name="NextRowLength">How many other items came after it in users' streams (its sequential row S[item][·]).</param>
/// <param name="NextNeighbors">The largest entries of the sequential row, ordered like <paramref name="Neighbors"/>.</param>
/// <param name="PurchaseNeighbors">The largest entries of the purchase row, ordered like <paramref name="Neighbors"/>.</param>
[GenerateSerializer, Immutable, Alias("reco.ItemCooccurrence")]
public sealed record ItemCooccurrence(
    string ItemId,
    long Count,
    int RowLength,
    IReadOnlyList<Neighbor> Neighbors,
    long PurchaseCount = 0,
    int PurchaseRowLength = 0,
    IReadOnlyList<Neighbor>? PurchaseNeighbors = null,
    int NextRowLength = 0,
    IReadOnlyList<Neighbor>? NextNeighbors = null);
