using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains;

/// <summary>
/// Combines the item side of a micro-batch of events: many increments of the same (item, other) pair become one
/// number, so the shuffle carries one entry per pair per batch instead of one per event.
/// </summary>
public sealed class DeltaCombiner : IItemDeltaSink
{
    private readonly Dictionary<string, Accumulator> _items = new(StringComparer.Ordinal);

    public bool IsEmpty => _items.Count == 0;

    public void AddCooccurrence(string itemId, string otherItemId, long count)
    {
        var row = Get(itemId).Row;
        row[otherItemId] = row.GetValueOrDefault(otherItemId) + count;
    }

    public void AddItemCount(string itemId, long count) => Get(itemId).Count += count;

    /// <summary>Takes what has been combined, grouped by <paramref name="partitionOf"/>, and starts afresh.</summary>
    public Dictionary<int, List<ItemDelta>> Drain(Func<string, int> partitionOf)
    {
        ArgumentNullException.ThrowIfNull(partitionOf);
        var result = new Dictionary<int, List<ItemDelta>>();
        foreach (var (item, acc) in _items)
        {
            var partition = partitionOf(item);
            if (!result.TryGetValue(partition, out var list))
            {
                result[partition] = list = [];
            }

            list.Add(new ItemDelta(item, acc.Count, acc.Row));
        }

        _items.Clear();
        return result;
    }

    private Accumulator Get(string itemId)
    {
        if (!_items.TryGetValue(itemId, out var acc))
        {
            _items[itemId] = acc = new Accumulator();
        }

        return acc;
    }

    private sealed class Accumulator
    {
        public long Count { get; set; }

        public Dictionary<string, long> Row { get; } = new(StringComparer.Ordinal);
    }
}
