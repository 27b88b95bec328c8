using System.Text.Json;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Grains.Orleans;

namespace RecoCluster.Silo.Storage;

/// <summary>
/// Reads grain states stored as UTF-8 JSON (web defaults) before 2026-12, when they moved to Orleans' binary
/// serializer: user and item states in the shapes they had then (rows as objects keyed by item id, a user's last
/// item side with its state), every other state as it is.
/// </summary>
internal static class LegacyJsonStates
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static T? Decode<T>(ReadOnlySpan<byte> payload)
    {
        if (typeof(T) == typeof(PersistedItem))
        {
            var item = JsonSerializer.Deserialize<LegacyItem>(payload, Json);
            return (T?)(object?)(item is null ? null : new PersistedItem { Model = item.Model?.ToState(), Watermarks = item.Watermarks ?? [] });
        }

        if (typeof(T) == typeof(PersistedUser))
        {
            var user = JsonSerializer.Deserialize<LegacyUser>(payload, Json);
            return (T?)(object?)(user is null ? null : new PersistedUser
            {
                Model = user.Model,
                LastBatchEnd = user.LastBatchEnd,
                LegacyItemSide = user.LastItemSide is { Count: > 0 } side ? ToItemSide(side) : null,
            });
        }

        return JsonSerializer.Deserialize<T>(payload, Json);
    }

    // One user's last item side, combined per item, as the flat item side the ingress now combines.
    private static ItemSide ToItemSide(List<LegacyDelta> deltas)
    {
        var items = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        int IndexOf(string id)
        {
            if (!index.TryGetValue(id, out var i))
            {
                index[id] = i = items.Count;
                items.Add(id);
            }

            return i;
        }

        var counts = new Dictionary<int, (long Count, long Purchases)>();
        var pairs = new List<int>();
        var pairCounts = new List<long>();
        var purchasePairs = new List<int>();
        var purchasePairCounts = new List<long>();
        var factorItems = new List<int>();
        var factors = new List<float>();
        foreach (var delta in deltas)
        {
            var i = IndexOf(delta.ItemId);
            counts[i] = (delta.Count, delta.PurchaseCount);
            foreach (var (other, count) in delta.Row ?? [])
            {
                pairs.AddRange([i, IndexOf(other)]);
                pairCounts.Add(count);
            }

            foreach (var (other, count) in delta.PurchaseRow ?? [])
            {
                purchasePairs.AddRange([i, IndexOf(other)]);
                purchasePairCounts.Add(count);
            }

            if (delta.FactorDelta is { Length: > 0 } step)
            {
                factorItems.Add(i);
                factors.AddRange(step);
            }
        }

        return new ItemSide(
            [.. items],
            [.. items.Select((_, i) => counts.GetValueOrDefault(i).Count)],
            [.. items.Select((_, i) => counts.GetValueOrDefault(i).Purchases)],
            [.. pairs],
            [.. pairCounts],
            [.. purchasePairs],
            [.. purchasePairCounts],
            [.. factorItems],
            [.. factors]);
    }

    private sealed record LegacyItem(LegacyItemModel? Model, Dictionary<int, long>? Watermarks);

    private sealed record LegacyItemModel(long Count, Dictionary<string, long>? Row, long PurchaseCount, Dictionary<string, long>? PurchaseRow, float[]? Factors)
    {
        public ItemGrainState ToState() => new()
        {
            Count = Count,
            RowItems = [.. (Row ?? []).Keys],
            RowCounts = [.. (Row ?? []).Values],
            PurchaseCount = PurchaseCount,
            PurchaseItems = [.. (PurchaseRow ?? []).Keys],
            PurchaseCounts = [.. (PurchaseRow ?? []).Values],
            Factors = Factors,
        };
    }

    private sealed record LegacyUser(UserGrainState? Model, long LastBatchEnd, List<LegacyDelta>? LastItemSide);

    private sealed record LegacyDelta(string ItemId, long Count, Dictionary<string, long>? Row, long PurchaseCount, Dictionary<string, long>? PurchaseRow, float[]? FactorDelta);
}
