using System.Text.Json.Serialization;

namespace RecoCluster.Grains.Interfaces;

/// <summary>One recommended item.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Score">Its score; larger is better; comparable within one answer only.</param>
/// <param name="Reason">Why, in words a shopper could read ("because you viewed sku-9", "popular now").</param>
/// <param name="Source">Where it came from: <c>neighborhood</c>, <c>factors</c>, <c>boughtTogether</c>,
/// <c>content</c> or <c>popular</c>.</param>
/// <param name="BecauseOf">The item the reason names, if any.</param>
[GenerateSerializer, Immutable, Alias("reco.RecommendedItem")]
public sealed record RecommendedItem(
    string ItemId,
    double Score,
    string Reason,
    string Source,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BecauseOf);

/// <summary>An answer of the recommendation endpoints.</summary>
/// <param name="SnapshotVersion">The neighborhood snapshot version the answer was computed from (0: none built yet).</param>
/// <param name="SnapshotBuiltAt">When that version was completed, or null for version 0.</param>
/// <param name="Items">The recommendations, best first.</param>
/// <param name="UserId">For user recommendations: the user.</param>
/// <param name="ItemId">For similar items: the item.</param>
/// <param name="ColdStart">True when the user has no history and gets popular items instead.</param>
/// <param name="Behind">For user recommendations: true when the user's partition had not applied every event the
/// request's position names when the wait for it ended (the answer may lack the latest clicks); absent otherwise.</param>
[GenerateSerializer, Immutable, Alias("reco.RecommendationList")]
public sealed record RecommendationList(
    long SnapshotVersion,
    DateTimeOffset? SnapshotBuiltAt,
    IReadOnlyList<RecommendedItem> Items,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UserId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ItemId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ColdStart = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Behind = null);

/// <summary>The body of <c>POST /v1/recommendations/cart</c>.</summary>
/// <param name="Items">The basket's item ids (1 to 100).</param>
/// <param name="Count">How many complements (default 10).</param>
public sealed record CartRequest(IReadOnlyList<string>? Items, int? Count);

/// <summary>The answer of <c>POST /v1/admin/neighborhoods/rebuild</c>: the round that ran.</summary>
/// <param name="Version">The new snapshot version.</param>
/// <param name="StartedAt">When the round started.</param>
/// <param name="CompletedAt">When every part was stored and the version became visible.</param>
/// <param name="Partitions">The parts the version was stored in (item partitions on the first runtime, slices of
/// the stored item rows on Orleans).</param>
/// <param name="Behind">True when the round started before every event of the request's position (or of what the
/// gateway produced) was stored, after waiting for it as long as the gateway does; absent otherwise.</param>
[GenerateSerializer, Immutable, Alias("reco.RebuildResult")]
public sealed record RebuildResult(
    long Version,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt,
    int Partitions,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Behind = null);

/// <summary>Limits and validation of recommendation requests, shared by the gateway (which checks before routing)
/// and the silos (which check again: their endpoint is reachable inside the cluster).</summary>
public static class RecommendationRequests
{
    /// <summary>Largest <c>count</c> a request may ask for.</summary>
    public const int MaxCount = 100;

    /// <summary>The <c>count</c> of a request that gives none.</summary>
    public const int DefaultCount = 10;

    /// <summary>Most items a basket may hold.</summary>
    public const int MaxBasketItems = 100;

    /// <summary>Checks a <c>count</c> parameter (absent means 10); null when valid, else the reason.</summary>
    public static string? ValidateCount(int? count) =>
        count is null or (>= 1 and <= MaxCount) ? null : $"'count' must be between 1 and {MaxCount}";

    /// <summary>Checks a basket request; null when valid, else the reason.</summary>
    public static string? ValidateCart(CartRequest? request)
    {
        if (request?.Items is not { Count: > 0 } items)
        {
            return "'items' must be a non-empty array of item ids";
        }

        if (items.Count > MaxBasketItems)
        {
            return $"'items' has {items.Count} entries; at most {MaxBasketItems} are allowed";
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (EventSchema.ValidateId($"items[{i}]", items[i]) is { } itemError)
            {
                return itemError;
            }
        }

        return ValidateCount(request.Count);
    }
}
