using System.Runtime.InteropServices;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// A user's recent history. The window holds the user's most recent distinct items in the order the partition
/// delivered them (log order, not timestamp order: log order is what every replay sees, so it is the only order
/// that makes the state deterministic).
/// </summary>
/// <remarks>
/// Turn-based: the runtime calls one method at a time, so there are no locks. Items are numbers of the silo's
/// <see cref="ItemIdTable"/>, and the window is an array of structs: a user's memory is a few objects, not one per
/// window entry (docs/benchmarks.md, "Memory").
/// </remarks>
public sealed class UserModel
{
    private const long MsPerDay = 86_400_000;

    private readonly string _userId;
    private readonly UserGrainOptions _options;
    private readonly ItemIdTable _ids;
    private RecentEntry[] _recent;
    private int _recentCount;
    private long _views;
    private long _clicks;
    private long _carts;
    private long _purchases;
    private long _lastEventMs;
    private int _capDay;
    private int _capCount;
    // The user's vector in half precision: 64 bytes of values instead of 128 at dimension 32. A step reads it into
    // floats, moves it there and rounds it back; the stored form and what serving reads are floats.
    private Half[]? _factors;

    public UserModel(string userId, UserGrainOptions options, ItemIdTable ids, UserGrainState? state = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ids);
        _userId = userId;
        _options = options;
        _ids = ids;
        _recent = [];
        if (state is null)
        {
            return;
        }

        // A stored window longer than the configured one (the window was made shorter) keeps its most recent part.
        var length = Math.Min(state.Recent.Length, options.WindowSize);
        _recent = new RecentEntry[length];
        for (var i = 0; i < length; i++)
        {
            var r = state.Recent[i];
            _recent[i] = new RecentEntry(ids.Intern(r.ItemId), r.LastType, r.LastSeenMs, r.Interactions, r.Purchased);
        }

        _recentCount = length;
        (_views, _clicks, _carts, _purchases) = (Count(state.Counts, 0), Count(state.Counts, 1), Count(state.Counts, 2), Count(state.Counts, 3));
        _lastEventMs = state.LastEventMs;
        _capDay = state.CapDay;
        _capCount = state.CapCount;
        _factors = state.Factors is { } stored ? ToHalves(stored) : null;

        static long Count(long[] counts, int type) => type < counts.Length ? counts[type] : 0;
    }

    /// <summary>Events applied, all types.</summary>
    public long TotalEvents => _views + _clicks + _carts + _purchases;

    /// <summary>Items in the window.</summary>
    public int WindowLength => _recentCount;

    /// <summary>Whether the factor model has given the user a vector.</summary>
    public bool HasFactors => _factors is not null;

    /// <summary>The state to store, with item ids as strings.</summary>
    public UserGrainState ToState()
    {
        var recent = new RecentItemState[_recentCount];
        for (var i = 0; i < recent.Length; i++)
        {
            var r = _recent[i];
            recent[i] = new RecentItemState { ItemId = _ids[r.Item], LastType = r.Type, LastSeenMs = r.LastSeenMs, Interactions = r.Interactions, Purchased = r.Purchased };
        }

        return new UserGrainState
        {
            Recent = recent,
            Counts = [_views, _clicks, _carts, _purchases],
            LastEventMs = _lastEventMs,
            CapDay = _capDay,
            CapCount = _capCount,
            Factors = _factors is { } f ? ToFloats(f) : null,
        };
    }

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
        var item = _ids.Intern(evt.ItemId);
        var ms = evt.Timestamp.ToUnixTimeMilliseconds();
        var purchase = evt.Type == EventType.Purchase;
        var weights = _options.Weights;
        var windowMs = _options.WindowSeconds * 1_000L;

        if (ReachesItemSide(ms))
        {
            var weight = weights.For(evt.Type);
            var factors = _options.Factors;
            if (weight > 0 && itemFactors is { Count: >= 2 } && factors.Enabled && itemFactors.Dimensions == factors.Dimensions)
            {
                FactorStep(item, evt.ItemId, weight, itemFactors, itemSide);
            }

            // Co-occurrence with the window as it is *before* this event, the item itself excluded, and only with
            // items touched within the time window before it (an out-of-order, older event meets them all). A
            // pair counts as much as its weaker side: a view next to a purchase is a view's worth of evidence.
            for (var i = 0; i < _recentCount; i++)
            {
                ref readonly var other = ref _recent[i];
                if (other.Item == item || (windowMs > 0 && ms - other.LastSeenMs > windowMs))
                {
                    continue;
                }

                var pair = Math.Min(weight, weights.For(other.Type));
                if (pair > 0)
                {
                    itemSide.AddCooccurrence(item, other.Item, pair);
                    itemSide.AddCooccurrence(other.Item, item, pair);
                }

                // Bought together: this purchase with every item the user bought while it stayed in the window.
                if (purchase && other.Purchased)
                {
                    itemSide.AddPurchaseCooccurrence(item, other.Item, 1);
                    itemSide.AddPurchaseCooccurrence(other.Item, item, 1);
                }
            }

            // Sequential: the item follows each of the window's first SequentialSteps items, at step g = its
            // position + 1, with the integer weight 60/g. An event on the item already at the front (a refresh, a
            // second click on the same page) is not a move, so it follows nothing.
            var steps = Math.Min(_options.SequentialSteps, _recentCount);
            if (weight > 0 && steps > 0 && _recent[0].Item != item)
            {
                for (var g = 1; g <= steps; g++)
                {
                    ref readonly var before = ref _recent[g - 1];
                    if (before.Item != item && (windowMs <= 0 || ms - before.LastSeenMs <= windowMs))
                    {
                        itemSide.AddNext(before.Item, item, UserGrainOptions.SequentialWeightUnit / g);
                    }
                }
            }

            if (weight > 0)
            {
                itemSide.AddItemCount(item, weight);
            }

            if (purchase)
            {
                itemSide.AddPurchaseCount(item, 1);
            }
        }

        MoveToFront(item, evt.Type, ms, purchase);
        switch (evt.Type)
        {
            case EventType.View: _views++; break;
            case EventType.Click: _clicks++; break;
            case EventType.AddToCart: _carts++; break;
            default: _purchases++; break;
        }

        _lastEventMs = Math.Max(_lastEventMs, ms);
    }

    // The item goes to the front of the window (most recent first); a new item pushes the least recent one out of
    // a full window.
    private void MoveToFront(int item, EventType type, long ms, bool purchase)
    {
        var index = -1;
        for (var i = 0; i < _recentCount; i++)
        {
            if (_recent[i].Item == item)
            {
                index = i;
                break;
            }
        }

        RecentEntry entry;
        if (index >= 0)
        {
            entry = _recent[index];
            entry.Interactions++;
        }
        else
        {
            entry = new RecentEntry(item, type, ms, 1, false);
            if (_recentCount < _options.WindowSize)
            {
                if (_recentCount == _recent.Length)
                {
                    // Grown four entries at a time up to the window size: most users never fill it, and doubling
                    // left a quarter of the average window's array empty (docs/benchmarks.md, "Memory").
                    Array.Resize(ref _recent, Math.Min(_options.WindowSize, _recent.Length + 4));
                }

                _recentCount++;
            }

            index = _recentCount - 1;
        }

        // Shift the entries before it one place back (over it, or over the least recent one).
        Array.Copy(_recent, 0, _recent, 1, index);
        entry.Type = type;
        entry.LastSeenMs = ms;
        entry.Purchased |= purchase;
        _recent[0] = entry;
    }

    // One BPR step against a negative drawn from the snapshot by a hash of (user, event number): the same log
    // draws the same negatives. Items in the user's window are not negatives (they are known positives); after
    // three draws that all hit the window, the step is skipped rather than taught something false.
    private void FactorStep(int item, string itemId, int weight, FactorTable table, IItemDeltaSink itemSide)
    {
        var options = _options.Factors;
        var d = options.Dimensions;
        var sequence = TotalEvents;
        string? negativeId = null;
        var negative = -1;
        for (var attempt = 0; attempt < 3 && negativeId is null; attempt++)
        {
            var candidate = table.Ids[Bpr.NegativeIndex(_userId, sequence, attempt, table.Count)];
            var number = _ids.Intern(candidate);
            if (number != item && !InWindow(number))
            {
                negativeId = candidate;
                negative = number;
            }
        }

        if (negativeId is null)
        {
            return;
        }

        Span<float> user = stackalloc float[d];
        if (_factors is null || _factors.Length != d)
        {
            Bpr.InitUser(_userId, options.InitScale, user);
            _factors = new Half[d];
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(_factors, user);
        }

        Span<float> buffers = stackalloc float[4 * d];
        var positiveVector = ItemVector(table, itemId, buffers[..d]);
        var negativeVector = ItemVector(table, negativeId, buffers.Slice(d, d));
        var positiveDelta = buffers.Slice(2 * d, d);
        var negativeDelta = buffers.Slice(3 * d, d);
        Bpr.Step(user, positiveVector, negativeVector, options.LearningRate * weight, options.Regularization, positiveDelta, negativeDelta);
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(user, _factors);
        itemSide.AddFactorDelta(item, positiveDelta);
        itemSide.AddFactorDelta(negative, negativeDelta);
    }

    // An item the snapshot does not have yet (new since the last round) starts from its initial vector, the same
    // one its ItemModel in the item's shard starts from.
    private ReadOnlySpan<float> ItemVector(FactorTable table, string itemId, Span<float> scratch)
    {
        var row = table.Get(itemId);
        if (!row.IsEmpty)
        {
            return row;
        }

        Bpr.InitItem(itemId, _options.Factors.InitScale, scratch);
        return scratch;
    }

    private bool InWindow(int item)
    {
        for (var i = 0; i < _recentCount; i++)
        {
            if (_recent[i].Item == item)
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
        var items = new RecentInteraction[_recentCount];
        for (var i = 0; i < items.Length; i++)
        {
            var r = _recent[i];
            items[i] = new RecentInteraction(_ids[r.Item], r.Type, r.LastSeenMs, r.Purchased);
        }

        return new RecommendationInput(_userId, items, _factors is { } f ? ToFloats(f) : null);
    }

    // The daily cap counts per UTC day of the event timestamps, in log order. A late event (older day) counts
    // against the newest day seen, so the cap depends only on the user's own log: replay gives the same answer.
    private bool ReachesItemSide(long ms)
    {
        var cap = _options.MaxItemSideEventsPerDay;
        if (cap <= 0)
        {
            return true;
        }

        var day = (int)Math.Floor(ms / (double)MsPerDay);
        if (day > _capDay)
        {
            _capDay = day;
            _capCount = 0;
        }

        if (_capCount >= cap)
        {
            return false;
        }

        _capCount++;
        return true;
    }

    /// <summary>The user's history window and counts, as served by <c>GET /v1/users/{userId}</c>.</summary>
    public UserHistory GetHistory()
    {
        var items = new RecentItem[_recentCount];
        for (var i = 0; i < items.Length; i++)
        {
            var r = _recent[i];
            items[i] = new RecentItem(_ids[r.Item], r.Type, DateTimeOffset.FromUnixTimeMilliseconds(r.LastSeenMs), r.Interactions);
        }

        long[] byType = [_views, _clicks, _carts, _purchases];
        var counts = new Dictionary<string, long>(EventTypes.WireNames.Count);
        for (var t = 0; t < EventTypes.WireNames.Count; t++)
        {
            counts[EventTypes.WireNames[t]] = byType[t];
        }

        var total = TotalEvents;
        return new UserHistory(
            _userId,
            items,
            counts,
            total,
            total == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(_lastEventMs));
    }

    private static Half[] ToHalves(float[] values)
    {
        var halves = new Half[values.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(values, halves);
        return halves;
    }

    private static float[] ToFloats(Half[] values)
    {
        var floats = new float[values.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(values, floats);
        return floats;
    }

    /// <summary>One window entry: 12 bytes, no references (24 before 2026-12-07, docs/benchmarks.md, "Memory"). The
    /// item is a number of the silo's <see cref="ItemIdTable"/>; the time, the type, the purchased mark and the
    /// interaction count share one long: the time as signed milliseconds from 2000-01-01 in 44 bits (about 278
    /// years either way, where events are accepted from 2000 to 2100), the type in 2, the mark in 1, and the count
    /// in 17, where it stops at <see cref="MaxInteractions"/> (a count only the history shows).</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct RecentEntry
    {
        public const int MaxInteractions = (1 << 17) - 1;

        private const int TimeBits = 44;
        private const long TimeMask = (1L << TimeBits) - 1;
        private const long Epoch2000Ms = 946_684_800_000;
        private const int TypeShift = TimeBits;
        private const int PurchasedShift = TimeBits + 2;
        private const int InteractionsShift = TimeBits + 3;

        private long _packed;

        public RecentEntry(int item, EventType type, long lastSeenMs, int interactions, bool purchased)
        {
            Item = item;
            LastSeenMs = lastSeenMs;
            Type = type;
            Purchased = purchased;
            Interactions = interactions;
        }

        public int Item;

        public long LastSeenMs
        {
            // Shifted up and back down to carry the 44-bit offset's sign.
            readonly get => (_packed << (64 - TimeBits) >> (64 - TimeBits)) + Epoch2000Ms;
            set
            {
                var offset = value - Epoch2000Ms;
                if (offset < -(1L << (TimeBits - 1)) || offset >= 1L << (TimeBits - 1))
                {
                    throw new ArgumentOutOfRangeException(nameof(value), value, "a window entry holds times within about 278 years of 2000");
                }

                _packed = (_packed & ~TimeMask) | (offset & TimeMask);
            }
        }

        public EventType Type
        {
            readonly get => (EventType)((_packed >> TypeShift) & 3);
            set => _packed = (_packed & ~(3L << TypeShift)) | (((long)value & 3) << TypeShift);
        }

        public bool Purchased
        {
            readonly get => ((_packed >> PurchasedShift) & 1) != 0;
            set => _packed = value ? _packed | (1L << PurchasedShift) : _packed & ~(1L << PurchasedShift);
        }

        public int Interactions
        {
            readonly get => (int)((ulong)_packed >> InteractionsShift);
            set => _packed = (_packed & ((1L << InteractionsShift) - 1)) | ((long)Math.Clamp(value, 0, MaxInteractions) << InteractionsShift);
        }
    }
}
