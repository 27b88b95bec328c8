using System.Text.Json;
using System.Text.Json.Serialization;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

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
