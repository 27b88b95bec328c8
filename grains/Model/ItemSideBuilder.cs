using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// Collects the item side of one user's records in a batch and hands it over as an <see cref="ItemSide"/> (flat
/// arrays, item ids as strings). It does not combine pairs: a user's events in one batch rarely repeat a pair, and
/// the ingress combines every user's item side per item anyway. Reusable: <see cref="Build"/> starts it afresh,
/// keeping its buffers.
/// </summary>
public sealed class ItemSideBuilder(ItemIdTable ids) : IItemDeltaSink
{
    /// <summary>The table whose numbers this builder takes.</summary>
    public ItemIdTable Ids => ids;

    // Item number -> index in the item side's Items.
    private readonly Dictionary<int, int> _index = [];
    private readonly List<int> _items = [];
    private readonly List<long> _counts = [];
    private readonly List<long> _purchaseCounts = [];
    private readonly List<int> _pairs = [];
    private readonly List<long> _pairCounts = [];
    private readonly List<int> _purchasePairs = [];
    private readonly List<long> _purchasePairCounts = [];
    private readonly List<int> _factorItems = [];
    private readonly List<float> _factorDeltas = [];

    // Index in the item side -> slot in _factorItems, or -1.
    private readonly List<int> _factorSlot = [];

    public void AddCooccurrence(int item, int other, long count)
    {
        _pairs.Add(IndexOf(item));
        _pairs.Add(IndexOf(other));
        _pairCounts.Add(count);
    }

    public void AddItemCount(int item, long count) => _counts[IndexOf(item)] += count;

    public void AddPurchaseCooccurrence(int item, int other, long count)
    {
        _purchasePairs.Add(IndexOf(item));
        _purchasePairs.Add(IndexOf(other));
        _purchasePairCounts.Add(count);
    }

    public void AddPurchaseCount(int item, long count) => _purchaseCounts[IndexOf(item)] += count;

    public void AddFactorDelta(int item, ReadOnlySpan<float> delta)
    {
        var index = IndexOf(item);
        var slot = _factorSlot[index];
        if (slot < 0)
        {
            slot = _factorSlot[index] = _factorItems.Count;
            _factorItems.Add(index);
            _factorDeltas.AddRange(delta);
            return;
        }

        if ((slot + 1) * delta.Length > _factorDeltas.Count)
        {
            throw new ArgumentException("factor deltas of one item side must have one length");
        }

        for (var i = 0; i < delta.Length; i++)
        {
            _factorDeltas[(slot * delta.Length) + i] += delta[i];
        }
    }

    /// <summary>What was added since the last call, as an item side; the builder starts afresh.</summary>
    public ItemSide Build()
    {
        var side = _items.Count == 0
            ? ItemSide.Empty
            : new ItemSide(
                _items.ConvertAll(i => ids[i]).ToArray(),
                [.. _counts],
                [.. _purchaseCounts],
                [.. _pairs],
                [.. _pairCounts],
                [.. _purchasePairs],
                [.. _purchasePairCounts],
                [.. _factorItems],
                [.. _factorDeltas]);
        _index.Clear();
        _items.Clear();
        _counts.Clear();
        _purchaseCounts.Clear();
        _pairs.Clear();
        _pairCounts.Clear();
        _purchasePairs.Clear();
        _purchasePairCounts.Clear();
        _factorItems.Clear();
        _factorDeltas.Clear();
        _factorSlot.Clear();
        return side;
    }

    private int IndexOf(int item)
    {
        if (!_index.TryGetValue(item, out var index))
        {
            index = _items.Count;
            _index[item] = index;
            _items.Add(item);
            _counts.Add(0);
            _purchaseCounts.Add(0);
            _factorSlot.Add(-1);
        }

        return index;
    }
}
