using System.Text.Json.Serialization;

namespace RecoCluster.Grains.Interfaces;

/// <summary>One item in a user's window of recent distinct items.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="LastType">The type of the user's latest event on the item.</param>
/// <param name="LastSeen">The timestamp of that event.</param>
/// <param name="Interactions">How many events the user had on the item while it stayed in the window.</param>
[GenerateSerializer, Immutable, Alias("reco.RecentItem")]
public sealed record RecentItem(string ItemId, EventType LastType, DateTimeOffset LastSeen, int Interactions);

/// <summary>A user's history: recent distinct items (most recent first) and event counts by type.</summary>
/// <param name="UserId">The user.</param>
/// <param name="RecentItems">Distinct items, most recent first, at most the configured window length.</param>
/// <param name="EventCounts">Events applied, by wire type name.</param>
/// <param name="TotalEvents">All events applied for the user.</param>
/// <param name="LastEventAt">The timestamp of the latest event, or null when there is none.</param>
/// <param name="Behind">True when the user's partition had not applied every event the request's position names
/// when the wait for it ended; absent otherwise.</param>
[GenerateSerializer, Immutable, Alias("reco.UserHistory")]
public sealed record UserHistory(
    string UserId,
    IReadOnlyList<RecentItem> RecentItems,
    IReadOnlyDictionary<string, long> EventCounts,
    long TotalEvents,
    DateTimeOffset? LastEventAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Behind = null);

/// <summary>One item of a user's window, as serving reads it.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="LastType">The type of the user's latest event on it.</param>
/// <param name="LastSeenMs">That event's timestamp, in Unix milliseconds.</param>
/// <param name="Purchased">Whether the user bought it while it stayed in the window.</param>
[GenerateSerializer, Immutable, Alias("reco.RecentInteraction")]
public readonly record struct RecentInteraction(string ItemId, EventType LastType, long LastSeenMs, bool Purchased);

/// <summary>What the recommender needs from a user, copied out in the turn of the ingress that holds it.</summary>
/// <param name="UserId">The user.</param>
/// <param name="Recent">The window, most recent first.</param>
/// <param name="Factors">The user's factor vector, or null before the model first touched the user.</param>
[GenerateSerializer, Immutable, Alias("reco.RecommendationInput")]
public sealed record RecommendationInput(string UserId, IReadOnlyList<RecentInteraction> Recent, float[]? Factors);
