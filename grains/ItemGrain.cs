using System.Text.Json;
using System.Text.Json.Serialization;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains;

/// <summary>The persistent state of an <see cref="ItemGrain"/>.</summary>
public sealed class ItemGrainState
{
    /// <summary>N[item]: events on the item.</summary>
    public long Count { get; set; }

    /// <summary>C[item][other], for every other item with a non-zero count.</summary>
    public Dictionary<string, long> Row { get; set; } = new(StringComparer.Ordinal);

    /// <summary>NP[item]: purchases of the item.</summary>
    public long PurchaseCount { get; set; }

    /// <summary>P[item][other]: how often the item was bought together with the other (same user, same window).</summary>
    public Dictionary<string, long> PurchaseRow { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The item's factor vector: its initial vector plus every step applied; null until the first.</summary>
    public float[]? Factors { get; set; }
}

/// <summary>An item's count and co-occurrence row. Counts are integers, so the cluster's rows equal a batch
/// recount of the same events exactly, whatever the order in which batches from different partitions arrive.</summary>
public sealed class ItemGrain : IItemGrain
{
    private readonly string _itemId;
    private readonly ItemGrainState _state;

    private readonly float _initScale;

    public ItemGrain(string itemId, ItemGrainState? state = null, float factorInitScale = 0.1f)
    {
        ArgumentException.ThrowIfNullOrEmpty(itemId);
        _itemId = itemId;
        _state = state ?? new ItemGrainState();
        _initScale = factorInitScale;
    }

    public string ItemId => _itemId;

    public ItemGrainState State => _state;

    /// <inheritdoc />
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

    /// <inheritdoc />
    public ItemCooccurrence GetCooccurrence(int count) =>
        new(_itemId, _state.Count, _state.Row.Count, Top(_state.Row, count), _state.PurchaseCount, _state.PurchaseRow.Count, Top(_state.PurchaseRow, count));

    private static List<Neighbor> Top(Dictionary<string, long> row, int count) => row
        .OrderByDescending(e => e.Value)
        .ThenBy(e => e.Key, StringComparer.Ordinal)
        .Take(count)
        .Select(e => new Neighbor(e.Key, e.Value))
        .ToList();
}

/// <summary>Encoding of item grain states and shuffle batches (compact JSON).</summary>
public static class ItemCodec
{
    public static byte[] Encode(ItemGrainState state) =>
        JsonSerializer.SerializeToUtf8Bytes(state, ItemJsonContext.Default.ItemGrainState);

    public static ItemGrainState Decode(ReadOnlySpan<byte> bytes)
    {
        var state = JsonSerializer.Deserialize(bytes, ItemJsonContext.Default.ItemGrainState) ?? throw new InvalidDataException("stored item grain state is null");
        state.Row = new Dictionary<string, long>(state.Row, StringComparer.Ordinal);
        state.PurchaseRow = new Dictionary<string, long>(state.PurchaseRow ?? [], StringComparer.Ordinal);
        return state;
    }

    public static byte[] Encode(ItemDeltaBatch batch) =>
        JsonSerializer.SerializeToUtf8Bytes(batch, ItemJsonContext.Default.ItemDeltaBatch);

    public static ItemDeltaBatch DecodeBatch(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize(bytes, ItemJsonContext.Default.ItemDeltaBatch) ?? throw new InvalidDataException("item delta batch is null");
}

// Defaults are left out: most deltas carry no purchases and no factor step, and most states no purchase row.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(ItemGrainState))]
[JsonSerializable(typeof(ItemDeltaBatch))]
internal sealed partial class ItemJsonContext : JsonSerializerContext;
