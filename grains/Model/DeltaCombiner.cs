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
/// <see cref="ItemIdTable"/>, so an addition is two integer-keyed lookups. The per-item accumulators and their rows
/// are reused from batch to batch (cleared, keeping their capacity); an item not touched for a whole batch gives its
/// accumulator back, which bounds the memory kept to the items of the last batch.
/// </remarks>
public sealed class DeltaCombiner(ItemIdTable ids) : IItemDeltaSink
{
    private readonly Dictionary<int, Accumulator> _items = [];
    private int _touched;

    /// <summary>Whether nothing was added since the last drain.</summary>
    public bool IsEmpty => _touched == 0;

    public void AddCooccurrence(int item, int other, long count) =>
        CollectionsMarshal.GetValueRefOrAddDefault(Touch(item).Row, other, out _) += count;

    public void AddItemCount(int item, long count) => Touch(item).Count += count;

    public void AddPurchaseCooccurrence(int item, int other, long count) =>
        CollectionsMarshal.GetValueRefOrAddDefault(Touch(item).PurchaseRow ??= [], other, out _) += count;

    public void AddPurchaseCount(int item, long count) => Touch(item).PurchaseCount += count;

    public void AddNext(int item, int next, long weight) =>
        CollectionsMarshal.GetValueRefOrAddDefault(Touch(item).NextRow ??= [], next, out _) += weight;

    public void AddFactorDelta(int item, ReadOnlySpan<float> delta)
    {
        var acc = Touch(item);
        if (acc.FactorDelta is null || acc.FactorDelta.Length != delta.Length)
        {
            acc.FactorDelta = new float[delta.Length];
        }
        else if (!acc.FactorTouched)
        {
            Array.Clear(acc.FactorDelta);
        }

        System.Numerics.Tensors.TensorPrimitives.Add(acc.FactorDelta, delta, acc.FactorDelta);
        acc.FactorTouched = true;
    }

    /// <summary>Hands over what was combined, one delta per item (in no particular order, safe to keep and to
    /// send), and starts the next batch.</summary>
    public List<ItemDelta> Drain()
    {
        var deltas = new List<ItemDelta>(_touched);
        foreach (var (item, acc) in _items)
        {
            if (acc.Touched)
            {
                deltas.Add(new ItemDelta(
                    ids[item],
                    acc.Count,
                    Keys(acc.Row),
                    [.. acc.Row.Values],
                    acc.PurchaseCount,
                    acc.PurchaseRow is { Count: > 0 } purchases ? Keys(purchases) : null,
                    acc.PurchaseRow is { Count: > 0 } ? [.. acc.PurchaseRow.Values] : null,
                    acc.FactorTouched ? acc.FactorDelta!.ToArray() : null,
                    acc.NextRow is { Count: > 0 } next ? Keys(next) : null,
                    acc.NextRow is { Count: > 0 } ? [.. acc.NextRow.Values] : null));
                acc.Reset();
            }
            else
            {
                // Removing the current entry while enumerating a Dictionary is allowed (and keeps the enumeration valid).
                _items.Remove(item);
            }
        }

        _touched = 0;
        return deltas;
    }

    /// <summary>Discards everything combined since the last drain, keeping the accumulators for reuse.</summary>
    public void Clear()
    {
        if (_touched == 0)
        {
            return;
        }

        foreach (var acc in _items.Values)
        {
            acc.Reset();
        }

        _touched = 0;
    }

    private string[] Keys(Dictionary<int, long> row)
    {
        var keys = new string[row.Count];
        var i = 0;
        foreach (var key in row.Keys)
        {
            keys[i++] = ids[key];
        }

        return keys;
    }

    private Accumulator Touch(int item)
    {
        ref var acc = ref CollectionsMarshal.GetValueRefOrAddDefault(_items, item, out _);
        acc ??= new Accumulator();
        if (!acc.Touched)
        {
            acc.Touched = true;
            _touched++;
        }

        return acc;
    }

    private sealed class Accumulator
    {
        public bool Touched { get; set; }

        public long Count { get; set; }

        public Dictionary<int, long> Row { get; } = [];

        public long PurchaseCount { get; set; }

        // Allocated on first use: most items are never bought together, and most batches carry no factor step.
        public Dictionary<int, long>? PurchaseRow { get; set; }

        // Allocated on first use too: a batch's first event of a user follows nothing.
        public Dictionary<int, long>? NextRow { get; set; }

        public float[]? FactorDelta { get; set; }

        public bool FactorTouched { get; set; }

        public void Reset()
        {
            Touched = false;
            Count = 0;
            Row.Clear();
            PurchaseCount = 0;
            PurchaseRow?.Clear();
            NextRow?.Clear();
            FactorTouched = false;
        }
    }
}
