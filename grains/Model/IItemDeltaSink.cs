namespace RecoCluster.Grains.Model;

/// <summary>
/// Where a <see cref="UserModel"/> sends the item side of an event, with items as numbers of the silo's
/// <see cref="ItemIdTable"/>. The partition's ingress combines a batch's item side per item
/// (<see cref="DeltaCombiner"/>) and sends each item shard its items' deltas.
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

    /// <summary>Adds <paramref name="weight"/> to the sequential count S[<paramref name="item"/>][<paramref name="next"/>]:
    /// <paramref name="next"/> came after <paramref name="item"/> in a user's stream (docs/algorithms.md,
    /// "Sequential rules"). Directed: S[next][item] does not change.</summary>
    void AddNext(int item, int next, long weight);

    /// <summary>Adds <paramref name="delta"/> (an SGD step, already scaled) to the item's factor vector.</summary>
    void AddFactorDelta(int item, ReadOnlySpan<float> delta);
}
