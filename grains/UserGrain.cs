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
    private const long MsPerDay = 86_400_000;

    private readonly string _userId;
    private readonly int _windowSize;
    private readonly long _windowMs;
    private readonly int _dailyCap;
    private readonly EventWeights _weights;
    private readonly UserGrainState _state;

    public UserGrain(string userId, UserGrainOptions options, UserGrainState? state = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(options);
        _userId = userId;
        _windowSize = options.WindowSize;
        _windowMs = options.WindowSeconds * 1_000L;
        _dailyCap = options.MaxItemSideEventsPerDay;
        _weights = options.Weights;
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
        var ms = evt.Timestamp.ToUnixTimeMilliseconds();

        if (ReachesItemSide(ms))
        {
            var weight = _weights.For(evt.Type);

            // Co-occurrence with the window as it is *before* this event, the item itself excluded, and only with
            // items touched within the time window before it (an out-of-order, older event meets them all). A
            // pair counts as much as its weaker side: a view next to a purchase is a view's worth of evidence.
            foreach (var other in recent)
            {
                if (string.Equals(other.ItemId, evt.ItemId, StringComparison.Ordinal) || (_windowMs > 0 && ms - other.LastSeenMs > _windowMs))
                {
                    continue;
                }

                var pair = Math.Min(weight, _weights.For(other.LastType));
                if (pair > 0)
                {
                    itemSide.AddCooccurrence(evt.ItemId, other.ItemId, pair);
                    itemSide.AddCooccurrence(other.ItemId, evt.ItemId, pair);
                }
            }

            if (weight > 0)
            {
                itemSide.AddItemCount(evt.ItemId, weight);
            }
        }

        // A plain loop: a FindIndex lambda would allocate a closure on every event.
        var index = -1;
        for (var i = 0; i < recent.Count; i++)
        {
            if (string.Equals(recent[i].ItemId, evt.ItemId, StringComparison.Ordinal))
            {
                index = i;
                break;
            }
        }

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

    // The daily cap counts per UTC day of the event timestamps, in log order. A late event (older day) counts
    // against the newest day seen, so the cap depends only on the user's own log: replay gives the same answer.
    private bool ReachesItemSide(long ms)
    {
        if (_dailyCap <= 0)
        {
            return true;
        }

        var day = (int)Math.Floor(ms / (double)MsPerDay);
        if (day > _state.CapDay)
        {
            _state.CapDay = day;
            _state.CapCount = 0;
        }

        if (_state.CapCount >= _dailyCap)
        {
            return false;
        }

        _state.CapCount++;
        return true;
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
