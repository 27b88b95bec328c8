namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// A user grain: the user's recent history. Addressed by user id; lives on the silo that owns the user's
/// partition of <c>reco.events</c>. Methods run one at a time (turn-based), so implementations hold no locks.
/// </summary>
public interface IUserGrain
{
    /// <summary>Applies one event, in the partition's order, and sends its item side (co-occurrence with the
    /// window, the item count) to <paramref name="itemSide"/>. Must be deterministic: a replay of the same events
    /// from the same state gives the same state and the same item side.</summary>
    void Apply(ClickEvent evt, IItemDeltaSink itemSide);

    /// <summary>The user's history window and counts, as served by <c>GET /v1/users/{userId}</c>.</summary>
    UserHistory GetHistory();
}

/// <summary>One item in a user's window of recent distinct items.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="LastType">The type of the user's latest event on the item.</param>
/// <param name="LastSeen">The timestamp of that event.</param>
/// <param name="Interactions">How many events the user had on the item while it stayed in the window.</param>
public sealed record RecentItem(string ItemId, EventType LastType, DateTimeOffset LastSeen, int Interactions);

/// <summary>A user's history: recent distinct items (most recent first) and event counts by type.</summary>
/// <param name="UserId">The user.</param>
/// <param name="RecentItems">Distinct items, most recent first, at most the configured window length.</param>
/// <param name="EventCounts">Events applied, by wire type name.</param>
/// <param name="TotalEvents">All events applied for the user.</param>
/// <param name="LastEventAt">The timestamp of the latest event, or null when there is none.</param>
public sealed record UserHistory(
    string UserId,
    IReadOnlyList<RecentItem> RecentItems,
    IReadOnlyDictionary<string, long> EventCounts,
    long TotalEvents,
    DateTimeOffset? LastEventAt);
