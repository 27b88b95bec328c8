using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>An item's count and co-occurrence row. Counts are integers, so the cluster's rows equal a batch
/// recount of the same events exactly, whatever the order in which batches from different partitions arrive.</summary>
public sealed class ItemModel
{
    private readonly string _itemId;
    private readonly ItemGrainState _state;

    private readonly float _initScale;

    public ItemModel(string itemId, ItemGrainState? state = null, float factorInitScale = 0.1f)
    {
        ArgumentException.ThrowIfNullOrEmpty(itemId);
        _itemId = itemId;
        _state = state ?? new ItemGrainState();
        _initScale = factorInitScale;
    }

    public string ItemId => _itemId;

    public ItemGrainState State => _state;

    /// <summary>Adds a combined delta to the item's count and row.</summary>
    public void Apply(ItemDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        _state.Count += delta.Count;
        foreach (var (other, count) in delta.Row)
        {
            _state.Row[other] = _state.Row.GetValueOrDefault(other) + count;
        }

        _state.PurchaseCount += delta.PurchaseCount;
        if (delta.PurchaseRow is not null)
        {
            foreach (var (other, count) in delta.PurchaseRow)
            {
                _state.PurchaseRow[other] = _state.PurchaseRow.GetValueOrDefault(other) + count;
            }
        }

        if (delta.FactorDelta is { Length: > 0 } step)
        {
            if (_state.Factors is null || _state.Factors.Length != step.Length)
            {
                _state.Factors = new float[step.Length];
                Algorithms.Bpr.InitItem(_itemId, _initScale, _state.Factors);
            }

            System.Numerics.Tensors.TensorPrimitives.Add(_state.Factors, step, _state.Factors);
        }
    }

    /// <summary>The item's count and its <paramref name="count"/> largest co-occurrences.</summary>
    public ItemCooccurrence GetCooccurrence(int count) =>
        new(_itemId, _state.Count, _state.Row.Count, Top(_state.Row, count), _state.PurchaseCount, _state.PurchaseRow.Count, Top(_state.PurchaseRow, count));

    private static List<Neighbor> Top(Dictionary<string, long> row, int count) => row
        .OrderByDescending(e => e.Value)
        .ThenBy(e => e.Key, StringComparer.Ordinal)
        .Take(count)
        .Select(e => new Neighbor(e.Key, e.Value))
        .ToList();
}
