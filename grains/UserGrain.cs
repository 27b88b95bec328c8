using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains;

/// <summary>
/// A user's recent history. The window holds the user's most recent distinct items in the order the partition
/// delivered them (log order, not timestamp order: log order is what every replay sees, so it is the only order
/// that makes the state deterministic).
/// </summary>
/// <remarks>Turn-based: the runtime calls one method at a time, so there are no locks.</remarks>
public sealed class UserGrain : IUserGrain
{
    private readonly string _userId;
    private readonly int _windowSize;
    private readonly UserGrainState _state;

    public UserGrain(string userId, UserGrainOptions options, UserGrainState? state = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(options);
        _userId = userId;
        _windowSize = options.WindowSize;
        _state = state ?? new UserGrainState();
    }

    /// <summary>The state to persist. The runtime must not mutate it.</summary>
    public UserGrainState State => _state;

    /// <inheritdoc />
    public void Apply(ClickEvent evt, IItemDeltaSink itemSide)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ArgumentNullException.ThrowIfNull(itemSide);
        var recent = _state.Recent;

        // Co-occurrence with the window as it is *before* this event, the item itself excluded.
        foreach (var other in recent)
        {
            if (!string.Equals(other.ItemId, evt.ItemId, StringComparison.Ordinal))
            {
                itemSide.AddCooccurrence(evt.ItemId, other.ItemId, 1);
                itemSide.AddCooccurrence(other.ItemId, evt.ItemId, 1);
            }
        }

        itemSide.AddItemCount(evt.ItemId, 1);

        var ms = evt.Timestamp.ToUnixTimeMilliseconds();
        var index = recent.FindIndex(r => string.Equals(r.ItemId, evt.ItemId, StringComparison.Ordinal));
        RecentItemState entry;
        if (index >= 0)
        {
            entry = recent[index];
            recent.RemoveAt(index);
            entry.Interactions++;
        }
        else
        {
            entry = new RecentItemState { ItemId = evt.ItemId, Interactions = 1 };
        }

        entry.LastType = evt.Type;
        entry.LastSeenMs = ms;
        recent.Insert(0, entry);
        if (recent.Count > _windowSize)
        {
            // The least recent item leaves the window.
            recent.RemoveRange(_windowSize, recent.Count - _windowSize);
        }

        _state.Counts[(int)evt.Type]++;
        _state.LastEventMs = Math.Max(_state.LastEventMs, ms);
    }

    /// <inheritdoc />
    public UserHistory GetHistory()
    {
        var items = new RecentItem[_state.Recent.Count];
        for (var i = 0; i < items.Length; i++)
        {
            var r = _state.Recent[i];
            items[i] = new RecentItem(r.ItemId, r.LastType, DateTimeOffset.FromUnixTimeMilliseconds(r.LastSeenMs), r.Interactions);
        }

        var counts = new Dictionary<string, long>(EventTypes.WireNames.Count);
        long total = 0;
        for (var t = 0; t < EventTypes.WireNames.Count; t++)
        {
            counts[EventTypes.WireNames[t]] = _state.Counts[t];
            total += _state.Counts[t];
        }

        return new UserHistory(
            _userId,
            items,
            counts,
            total,
            total == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(_state.LastEventMs));
    }
}
