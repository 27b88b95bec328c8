using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// Combines the item side of a micro-batch of events: many increments of the same (item, other) pair become one
/// number, so an item grain is called with one entry per pair per batch instead of one per event.
/// </summary>
/// <remarks>
/// Hot path: every event makes up to 2×window calls here. The per-item accumulators and their row dictionaries
/// are reused from batch to batch (cleared, keeping their capacity), so a steady stream allocates almost nothing
/// per event; an item not touched for a whole batch gives its accumulator back, which bounds the memory kept to
/// the items of the last batch. The price: a drained batch is valid only inside <see cref="Drain{T}"/>'s callback.
/// </remarks>
public sealed class DeltaCombiner : IItemDeltaSink
{
    private readonly Dictionary<string, Accumulator> _items = new(StringComparer.Ordinal);
    private int _touched;

    /// <summary>Whether nothing was added since the last drain.</summary>
    public bool IsEmpty => _touched == 0;

    public void AddCooccurrence(string itemId, string otherItemId, long count)
    {
        var row = Touch(itemId).Row;
        row[otherItemId] = row.GetValueOrDefault(otherItemId) + count;
    }

    public void AddItemCount(string itemId, long count) => Touch(itemId).Count += count;

    public void AddPurchaseCooccurrence(string itemId, string otherItemId, long count)
    {
        var acc = Touch(itemId);
        var row = acc.PurchaseRow ??= new Dictionary<string, long>(StringComparer.Ordinal);
        row[otherItemId] = row.GetValueOrDefault(otherItemId) + count;
    }

    public void AddPurchaseCount(string itemId, long count) => Touch(itemId).PurchaseCount += count;

    public void AddFactorDelta(string itemId, ReadOnlySpan<float> delta)
    {
        var acc = Touch(itemId);
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

    /// <summary>Adds an already combined delta (one user's batch, to be combined with the other users' of the batch).</summary>
    public void Add(ItemDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        AddItemCount(delta.ItemId, delta.Count);
        foreach (var (other, count) in delta.Row)
        {
            AddCooccurrence(delta.ItemId, other, count);
        }

        AddPurchaseCount(delta.ItemId, delta.PurchaseCount);
        if (delta.PurchaseRow is { } purchases)
        {
            foreach (var (other, count) in purchases)
            {
                AddPurchaseCooccurrence(delta.ItemId, other, count);
            }
        }

        if (delta.FactorDelta is { Length: > 0 } step)
        {
            AddFactorDelta(delta.ItemId, step);
        }
    }

    /// <summary>Drains what has been combined as deltas of their own (copies, safe to keep and to send), item by
    /// item in no particular order, and starts the next batch.</summary>
    public List<ItemDelta> DrainCopies() =>
        Drain(_ => 0, (_, deltas) => deltas.Select(d => new ItemDelta(
            d.ItemId,
            d.Count,
            new Dictionary<string, long>(d.Row, StringComparer.Ordinal),
            d.PurchaseCount,
            d.PurchaseRow is null ? null : new Dictionary<string, long>(d.PurchaseRow, StringComparer.Ordinal),
            d.FactorDelta?.ToArray())).ToList()) is [var all] ? all : [];

    /// <summary>
    /// Groups what has been combined by <paramref name="partitionOf"/>, hands each group to
    /// <paramref name="encode"/> (which must copy or serialize it: the deltas are reused afterwards), and starts
    /// the next batch.
    /// </summary>
    public List<T> Drain<T>(Func<string, int> partitionOf, Func<int, IReadOnlyList<ItemDelta>, T> encode)
    {
        ArgumentNullException.ThrowIfNull(partitionOf);
        ArgumentNullException.ThrowIfNull(encode);
        var groups = new Dictionary<int, List<ItemDelta>>();
        foreach (var (item, acc) in _items)
        {
            if (!acc.Touched)
            {
                continue;
            }

            var partition = partitionOf(item);
            if (!groups.TryGetValue(partition, out var list))
            {
                groups[partition] = list = [];
            }

            list.Add(new ItemDelta(
                item,
                acc.Count,
                acc.Row,
                acc.PurchaseCount,
                acc.PurchaseRow is { Count: > 0 } ? acc.PurchaseRow : null,
                acc.FactorTouched ? acc.FactorDelta : null));
        }

        var results = new List<T>(groups.Count);
        foreach (var (partition, deltas) in groups.OrderBy(g => g.Key))
        {
            results.Add(encode(partition, deltas));
        }

        // Removing the current entry while enumerating a Dictionary is allowed (and keeps the enumeration valid).
        foreach (var (item, acc) in _items)
        {
            if (acc.Touched)
            {
                acc.Reset();
            }
            else
            {
                _items.Remove(item);
            }
        }

        _touched = 0;
        return results;
    }

    /// <summary>Discards everything combined so far (a fenced worker drops its uncommitted work).</summary>
    public void Clear()
    {
        _items.Clear();
        _touched = 0;
    }

    private Accumulator Touch(string itemId)
    {
        if (!_items.TryGetValue(itemId, out var acc))
        {
            _items[itemId] = acc = new Accumulator();
        }

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

        public Dictionary<string, long> Row { get; } = new(StringComparer.Ordinal);

        public long PurchaseCount { get; set; }

        // Allocated on first use: most items are never bought together, and most batches carry no factor step.
        public Dictionary<string, long>? PurchaseRow { get; set; }

        public float[]? FactorDelta { get; set; }

        public bool FactorTouched { get; set; }

        public void Reset()
        {
            Touched = false;
            Count = 0;
            Row.Clear();
            PurchaseCount = 0;
            PurchaseRow?.Clear();
            FactorTouched = false;
        }
    }
}
