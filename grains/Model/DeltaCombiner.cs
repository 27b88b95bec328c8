using System.Runtime.InteropServices;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// Combines the item side of a batch of events per item: many increments of the same (item, other) pair become
/// one number, so a batch's item side (stored with the batch, then sent to the item shards) holds one entry per
/// pair instead of one per event.
/// </summary>
/// <remarks>
/// Hot path: every event makes up to 2×window additions here. Items are numbers of the silo's
/// <see cref="ItemIdTable"/>; the pairs of each row kind go into one flat table keyed by the pair
/// (<see cref="PairCounts"/>), and only the per-item totals (counts, the factor step) into a dictionary, touched once
/// per event. A drain cuts each table into one row per item.
/// </remarks>
public sealed class DeltaCombiner(ItemIdTable ids) : IItemDeltaSink
{
    private readonly PairCounts _cooccurrence = new();
    private readonly PairCounts _purchases = new();
    private readonly PairCounts _next = new();
    private readonly Dictionary<int, Totals> _totals = [];

    /// <summary>Whether nothing was added since the last drain.</summary>
    public bool IsEmpty => _totals.Count == 0 && _cooccurrence.Count == 0 && _purchases.Count == 0 && _next.Count == 0;

    public void AddCooccurrence(int item, int other, long count) => _cooccurrence.Add(item, other, count);

    public void AddItemCount(int item, long count) => TotalsOf(item).Count += count;

    public void AddPurchaseCooccurrence(int item, int other, long count) => _purchases.Add(item, other, count);

    public void AddPurchaseCount(int item, long count) => TotalsOf(item).PurchaseCount += count;

    public void AddNext(int item, int next, long weight) => _next.Add(item, next, weight);

    public void AddFactorDelta(int item, ReadOnlySpan<float> delta)
    {
        ref var totals = ref TotalsOf(item);
        if (totals.FactorDelta is null || totals.FactorDelta.Length != delta.Length)
        {
            totals.FactorDelta = new float[delta.Length];
        }

        System.Numerics.Tensors.TensorPrimitives.Add(totals.FactorDelta, delta, totals.FactorDelta);
    }

    /// <summary>Hands over what was combined, one delta per item (in no particular order), safe to keep and to send,
    /// and starts the next batch.</summary>
    public List<ItemDelta> Drain()
    {
        var parts = new Dictionary<int, Parts>(_totals.Count);
        foreach (var (item, others, numbers, counts) in _cooccurrence.TakeRows(ids))
        {
            ref var p = ref PartsOf(item);
            (p.Others, p.OtherNumbers, p.OtherCounts) = (others, numbers, counts);
        }

        foreach (var (item, others, numbers, counts) in _purchases.TakeRows(ids))
        {
            ref var p = ref PartsOf(item);
            (p.PurchaseOthers, p.PurchaseNumbers, p.PurchaseCounts) = (others, numbers, counts);
        }

        foreach (var (item, others, numbers, counts) in _next.TakeRows(ids))
        {
            ref var p = ref PartsOf(item);
            (p.NextOthers, p.NextNumbers, p.NextCounts) = (others, numbers, counts);
        }

        foreach (var (item, totals) in _totals)
        {
            PartsOf(item).Totals = totals;
        }

        _totals.Clear();
        var deltas = new List<ItemDelta>(parts.Count);
        foreach (var (item, p) in parts)
        {
            deltas.Add(new ItemDelta(
                ids[item],
                p.Totals.Count,
                p.Others ?? [],
                p.OtherCounts ?? [],
                p.Totals.PurchaseCount,
                p.PurchaseOthers,
                p.PurchaseCounts,
                p.Totals.FactorDelta,
                p.NextOthers,
                p.NextCounts)
            {
                Numbers = new ItemDeltaNumbers(ids, item, p.OtherNumbers ?? [], p.PurchaseNumbers, p.NextNumbers),
            });
        }

        return deltas;

        ref Parts PartsOf(int item) => ref CollectionsMarshal.GetValueRefOrAddDefault(parts, item, out _);
    }

    /// <summary>Discards everything combined since the last drain.</summary>
    public void Clear()
    {
        _cooccurrence.Clear();
        _purchases.Clear();
        _next.Clear();
        _totals.Clear();
    }

    private ref Totals TotalsOf(int item) => ref CollectionsMarshal.GetValueRefOrAddDefault(_totals, item, out _);

    // Per item, once per event at most: its count, purchase count and summed factor step (a fresh array per batch,
    // handed over with the delta).
    private struct Totals
    {
        public long Count;
        public long PurchaseCount;
        public float[]? FactorDelta;
    }

    private struct Parts
    {
        public Totals Totals;
        public string[]? Others;
        public int[]? OtherNumbers;
        public long[]? OtherCounts;
        public string[]? PurchaseOthers;
        public int[]? PurchaseNumbers;
        public long[]? PurchaseCounts;
        public string[]? NextOthers;
        public int[]? NextNumbers;
        public long[]? NextCounts;
    }
}
