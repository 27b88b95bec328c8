using System.Text.Json;
using RecoCluster.Grains.Model;

namespace RecoCluster.Silo.Storage;

/// <summary>
/// Reads the user and item states that versions before 2026-12 stored as Orleans grain state
/// (<c>reco_grain_state</c>, UTF-8 JSON with web defaults: a user's window and vector with its last batch's end, an
/// item's rows as objects keyed by item id with its watermarks), for <see cref="GrainStore.MoveLegacyStatesAsync"/>.
/// </summary>
internal static class LegacyJsonStates
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A stored user: its state (null for an erased user's tombstone) and its last batch's end.</summary>
    public static (UserGrainState? State, long LastBatchEnd) User(ReadOnlySpan<byte> payload, string what)
    {
        var user = JsonSerializer.Deserialize<LegacyUser>(Check(payload, what), Json) ?? throw new InvalidDataException($"stored {what} is null");
        return (user.Model, user.LastBatchEnd);
    }

    /// <summary>A stored item's state.</summary>
    public static ItemGrainState Item(ReadOnlySpan<byte> payload, string what)
    {
        var item = JsonSerializer.Deserialize<LegacyItem>(Check(payload, what), Json) ?? throw new InvalidDataException($"stored {what} is null");
        var model = item.Model ?? new LegacyItemModel(0, null, 0, null, null);
        return new ItemGrainState
        {
            Count = model.Count,
            RowItems = [.. (model.Row ?? []).Keys],
            RowCounts = [.. (model.Row ?? []).Values],
            PurchaseCount = model.PurchaseCount,
            PurchaseItems = [.. (model.PurchaseRow ?? []).Keys],
            PurchaseCounts = [.. (model.PurchaseRow ?? []).Values],
            Factors = model.Factors,
        };
    }

    private static ReadOnlySpan<byte> Check(ReadOnlySpan<byte> payload, string what) =>
        !payload.IsEmpty && payload[0] == (byte)'{'
            ? payload
            : throw new InvalidDataException($"stored {what} is not in the JSON form versions before 2026-12 wrote; it cannot be migrated");

    private sealed record LegacyUser(UserGrainState? Model, long LastBatchEnd);

    private sealed record LegacyItem(LegacyItemModel? Model);

    private sealed record LegacyItemModel(long Count, Dictionary<string, long>? Row, long PurchaseCount, Dictionary<string, long>? PurchaseRow, float[]? Factors);
}
