namespace RecoCluster.Grains.Model;

/// <summary>
/// Where a <see cref="UserModel"/> sends the item side of an event, with items as numbers of the silo's
/// <see cref="ItemIdTable"/>. The user grain collects a batch's item side (<see cref="ItemSideBuilder"/>) and
/// returns it; the partition's ingress combines the batch's item sides per item (<see cref="DeltaCombiner"/>) and
/// calls each item grain once with its share.
/// </summary>
public interface IItemDeltaSink
{
    /// <summary>Adds <paramref name="count"/> to the co-occurrence count C[<paramref name="item"/>][<paramref name="other"/>].</summary>
    void AddCooccurrence(int item, int other, long count);

    /// <summary>Adds <paramref name="count"/> to the item count N[<paramref name="item"/>].</summary>
    void AddItemCount(int item, long count);

    /// <summary>Adds <paramref name="count"/> to the purchase co-occurrence P[<paramref name="item"/>][<paramref name="other"/>]
    /// (both items bought by the same user within the window), which cart complements come from.</summary>
    void AddPurchaseCooccurrence(int item, int other, long count);

    /// <summary>Adds <paramref name="count"/> to the purchase count NP[<paramref name="item"/>].</summary>
    void AddPurchaseCount(int item, long count);

    /// <summary>Adds <paramref name="delta"/> (an SGD step, already scaled) to the item's factor vector.</summary>
    void AddFactorDelta(int item, ReadOnlySpan<float> delta);
}
