using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// A user's recent history. The window holds the user's most recent distinct items in the order the partition
/// delivered them (log order, not timestamp order: log order is what every replay sees, so it is the only order
/// that makes the state deterministic).
/// </summary>
/// <remarks>Turn-based: the runtime calls one method at a time, so there are no locks.</remarks>
public sealed class UserModel
{
    private const long MsPerDay = 86_400_000;

    private readonly string _userId;
    private readonly int _windowSize;
    private readonly long _windowMs;
    private readonly int _dailyCap;
    private readonly EventWeights _weights;
    private readonly FactorOptions _factors;
    private readonly UserGrainState _state;

    public UserModel(string userId, UserGrainOptions options, UserGrainState? state = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(options);
        _userId = userId;
        _windowSize = options.WindowSize;
        _windowMs = options.WindowSeconds * 1_000L;
        _dailyCap = options.MaxItemSideEventsPerDay;
        _weights = options.Weights;
        _factors = options.Factors;
        _state = state ?? new UserGrainState();
    }

    /// <summary>The state to persist. The runtime must not mutate it.</summary>
    public UserGrainState State => _state;

    /// <summary>Applies one event, in the partition's order, and sends its item side (co-occurrence with the
    /// window, the item count) to <paramref name="itemSide"/>. Deterministic: a replay of the same events from the
    /// same state gives the same state and the same item side.</summary>
    public void Apply(ClickEvent evt, IItemDeltaSink itemSide) => Apply(evt, itemSide, null);

    /// <summary>Applies one event as <see cref="Apply(ClickEvent, IItemDeltaSink)"/> does and, when the factor model is on and
    /// <paramref name="itemFactors"/> (the silo's replicated item-factor snapshot) holds at least two items,
    /// takes one BPR step: the user's vector here, the items' through <paramref name="itemSide"/>.</summary>
    public void Apply(ClickEvent evt, IItemDeltaSink itemSide, FactorTable? itemFactors)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ArgumentNullException.ThrowIfNull(itemSide);
        var recent = _state.Recent;
        var ms = evt.Timestamp.ToUnixTimeMilliseconds();
        var purchase = evt.Type == EventType.Purchase;

        if (ReachesItemSide(ms))
        {
            var weight = _weights.For(evt.Type);
            if (weight > 0 && itemFactors is { Count: >= 2 } && _factors.Enabled && itemFactors.Dimensions == _factors.Dimensions)
            {
                FactorStep(evt.ItemId, weight, itemFactors, itemSide);
            }

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

                // Bought together: this purchase with every item the user bought while it stayed in the window.
                if (purchase && other.Purchased)
                {
                    itemSide.AddPurchaseCooccurrence(evt.ItemId, other.ItemId, 1);
                    itemSide.AddPurchaseCooccurrence(other.ItemId, evt.ItemId, 1);
                }
            }

            if (weight > 0)
            {
                itemSide.AddItemCount(evt.ItemId, weight);
            }

            if (purchase)
            {
                itemSide.AddPurchaseCount(evt.ItemId, 1);
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
        entry.Purchased |= purchase;
        recent.Insert(0, entry);
        if (recent.Count > _windowSize)
        {
            // The least recent item leaves the window.
            recent.RemoveRange(_windowSize, recent.Count - _windowSize);
        }

        _state.Counts[(int)evt.Type]++;
        _state.LastEventMs = Math.Max(_state.LastEventMs, ms);
    }

    // One BPR step against a negative drawn from the snapshot by a hash of (user, event number): the same log
    // draws the same negatives. Items in the user's window are not negatives (they are known positives); after
    // three draws that all hit the window, the step is skipped rather than taught something false.
    private void FactorStep(string itemId, int weight, FactorTable table, IItemDeltaSink itemSide)
    {
        var d = _factors.Dimensions;
        var sequence = _state.Counts[0] + _state.Counts[1] + _state.Counts[2] + _state.Counts[3];
        string? negativeId = null;
        for (var attempt = 0; attempt < 3 && negativeId is null; attempt++)
        {
            var candidate = table.Ids[Bpr.NegativeIndex(_userId, sequence, attempt, table.Count)];
            if (!string.Equals(candidate, itemId, StringComparison.Ordinal) && !InWindow(candidate))
            {
                negativeId = candidate;
            }
        }

        if (negativeId is null)
        {
            return;
        }

        if (_state.Factors is null || _state.Factors.Length != d)
        {
            _state.Factors = new float[d];
            Bpr.InitUser(_userId, _factors.InitScale, _state.Factors);
        }

        Span<float> buffers = stackalloc float[4 * d];
        var positive = ItemVector(table, itemId, buffers[..d]);
        var negative = ItemVector(table, negativeId, buffers.Slice(d, d));
        var positiveDelta = buffers.Slice(2 * d, d);
        var negativeDelta = buffers.Slice(3 * d, d);
        Bpr.Step(_state.Factors, positive, negative, _factors.LearningRate * weight, _factors.Regularization, positiveDelta, negativeDelta);
        itemSide.AddFactorDelta(itemId, positiveDelta);
        itemSide.AddFactorDelta(negativeId, negativeDelta);
    }

    // An item the snapshot does not have yet (new since the last round) starts from its initial vector, the same
    // one its item grain starts from.
    private ReadOnlySpan<float> ItemVector(FactorTable table, string itemId, Span<float> scratch)
    {
        var row = table.Get(itemId);
        if (!row.IsEmpty)
        {
            return row;
        }

        Bpr.InitItem(itemId, _factors.InitScale, scratch);
        return scratch;
    }

    private bool InWindow(string itemId)
    {
        foreach (var r in _state.Recent)
        {
            if (string.Equals(r.ItemId, itemId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What serving needs from the user: the window (with the purchased marks) and the factor vector
    /// (a copy, or null before the first factor step). Read in the grain's turn, used outside it.</summary>
    public RecommendationInput GetRecommendationInput()
    {
        var items = new RecentInteraction[_state.Recent.Count];
        for (var i = 0; i < items.Length; i++)
        {
            var r = _state.Recent[i];
            items[i] = new RecentInteraction(r.ItemId, r.LastType, r.LastSeenMs, r.Purchased);
        }

        return new RecommendationInput(_userId, items, _state.Factors?.ToArray());
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

    /// <summary>The user's history window and counts, as served by <c>GET /v1/users/{userId}</c>.</summary>
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
