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
/// <see cref="ItemIdTable"/>. While events change the user, its state is an <see cref="ExpandedUser"/> (the window an
/// array of structs); at rest a partition's ingress keeps only its packed bytes (<see cref="Pack"/>,
/// <see cref="PackedUser"/>), about half the memory (docs/benchmarks.md, "Memory").
/// </remarks>
public sealed class UserModel
{
    private const long MsPerDay = 86_400_000;

    private readonly string _userId;
    private readonly UserGrainOptions _options;
    private readonly ItemIdTable _ids;

    // An ExpandedUser, or the PackedUser bytes of a model made by FromPacked until its first event: a model being
    // read need not unpack for good.
    private object _state;

    public UserModel(string userId, UserGrainOptions options, ItemIdTable ids, UserGrainState? state = null)
        : this(userId, options, ids, Expand(state, options, ids))
    {
    }

    private UserModel(string userId, UserGrainOptions options, ItemIdTable ids, object state)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ids);
        _userId = userId;
        _options = options;
        _ids = ids;
        _state = state;
    }

    /// <summary>Events applied, all types.</summary>
    public long TotalEvents => Current.TotalEvents;

    /// <summary>Items in the window.</summary>
    public int WindowLength => Current.RecentCount;

    /// <summary>Whether the factor model has given the user a vector.</summary>
    public bool HasFactors => Current.Factors is not null;

    /// <summary>The state to store, with item ids as strings.</summary>
    public UserGrainState ToState()
    {
        var u = Current;
        var recent = new RecentItemState[u.RecentCount];
        for (var i = 0; i < recent.Length; i++)
        {
            var r = u.Recent[i];
            recent[i] = new RecentItemState { ItemId = _ids[r.Item], LastType = r.Type, LastSeenMs = r.LastSeenMs, Interactions = r.Interactions, Purchased = r.Purchased };
        }

        return new UserGrainState
        {
            Recent = recent,
            Counts = [u.Views, u.Clicks, u.Carts, u.Purchases],
            LastEventMs = u.LastEventMs,
            CapDay = u.CapDay,
            CapCount = u.CapCount,
            Factors = u.Factors is { } f ? ToFloats(f) : null,
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
        var u = Hot();
        var item = _ids.Intern(evt.ItemId);
        var ms = evt.Timestamp.ToUnixTimeMilliseconds();
        var purchase = evt.Type == EventType.Purchase;
        var weights = _options.Weights;
        var windowMs = _options.WindowSeconds * 1_000L;

        if (ReachesItemSide(u, ms))
        {
            var weight = weights.For(evt.Type);
            var factors = _options.Factors;
            if (weight > 0 && itemFactors is { Count: >= 2 } && factors.Enabled && itemFactors.Dimensions == factors.Dimensions)
            {
                FactorStep(u, item, evt.ItemId, weight, itemFactors, itemSide);
            }

            // Co-occurrence with the window as it is *before* this event, the item itself excluded, and only with
            // items touched within the time window before it (an out-of-order, older event meets them all). A
            // pair counts as much as its weaker side: a view next to a purchase is a view's worth of evidence.
            for (var i = 0; i < u.RecentCount; i++)
            {
                ref readonly var other = ref u.Recent[i];
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
            var steps = Math.Min(_options.SequentialSteps, u.RecentCount);
            if (weight > 0 && steps > 0 && u.Recent[0].Item != item)
            {
                for (var g = 1; g <= steps; g++)
                {
                    ref readonly var before = ref u.Recent[g - 1];
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

        MoveToFront(u, item, evt.Type, ms, purchase);
        switch (evt.Type)
        {
            case EventType.View: u.Views++; break;
            case EventType.Click: u.Clicks++; break;
            case EventType.AddToCart: u.Carts++; break;
            default: u.Purchases++; break;
        }

        u.LastEventMs = Math.Max(u.LastEventMs, ms);
    }

    // The item goes to the front of the window (most recent first); a new item pushes the least recent one out of
    // a full window.
    private void MoveToFront(ExpandedUser u, int item, EventType type, long ms, bool purchase)
    {
        var index = -1;
        for (var i = 0; i < u.RecentCount; i++)
        {
            if (u.Recent[i].Item == item)
            {
                index = i;
                break;
            }
        }

        RecentEntry entry;
        if (index >= 0)
        {
            entry = u.Recent[index];
            entry.Interactions++;
        }
        else
        {
            entry = new RecentEntry(item, type, ms, 1, false);
            if (u.RecentCount < _options.WindowSize)
            {
                if (u.RecentCount == u.Recent.Length)
                {
                    // Grown four entries at a time up to the window size: most users never fill it, and doubling
                    // left a quarter of the average window's array empty (docs/benchmarks.md, "Memory").
                    Array.Resize(ref u.Recent, Math.Min(_options.WindowSize, u.Recent.Length + 4));
                }

                u.RecentCount++;
            }

            index = u.RecentCount - 1;
        }

        // Shift the entries before it one place back (over it, or over the least recent one).
        Array.Copy(u.Recent, 0, u.Recent, 1, index);
        entry.Type = type;
        entry.LastSeenMs = ms;
        entry.Purchased |= purchase;
        u.Recent[0] = entry;
    }

    // One BPR step against a negative drawn from the snapshot by a hash of (user, event number): the same log
    // draws the same negatives. Items in the user's window are not negatives (they are known positives); after
    // three draws that all hit the window, the step is skipped rather than taught something false.
    private void FactorStep(ExpandedUser u, int item, string itemId, int weight, FactorTable table, IItemDeltaSink itemSide)
    {
        var options = _options.Factors;
        var d = options.Dimensions;
        var sequence = u.TotalEvents;
        string? negativeId = null;
        var negative = -1;
        for (var attempt = 0; attempt < 3 && negativeId is null; attempt++)
        {
            var candidate = table.Ids[Bpr.NegativeIndex(_userId, sequence, attempt, table.Count)];
            var number = _ids.Intern(candidate);
            if (number != item && !InWindow(u, number))
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
        if (u.Factors is null || u.Factors.Length != d)
        {
            Bpr.InitUser(_userId, options.InitScale, user);
            u.Factors = new Half[d];
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(u.Factors, user);
        }

        Span<float> buffers = stackalloc float[4 * d];
        var positiveVector = ItemVector(table, itemId, buffers[..d]);
        var negativeVector = ItemVector(table, negativeId, buffers.Slice(d, d));
        var positiveDelta = buffers.Slice(2 * d, d);
        var negativeDelta = buffers.Slice(3 * d, d);
        Bpr.Step(user, positiveVector, negativeVector, options.LearningRate * weight, options.Regularization, positiveDelta, negativeDelta);
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(user, u.Factors);
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

    private static bool InWindow(ExpandedUser u, int item)
    {
        for (var i = 0; i < u.RecentCount; i++)
        {
            if (u.Recent[i].Item == item)
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
        var u = Current;
        var items = new RecentInteraction[u.RecentCount];
        for (var i = 0; i < items.Length; i++)
        {
            var r = u.Recent[i];
            items[i] = new RecentInteraction(_ids[r.Item], r.Type, r.LastSeenMs, r.Purchased);
        }

        return new RecommendationInput(_userId, items, u.Factors is { } f ? ToFloats(f) : null);
    }

    // The daily cap counts per UTC day of the event timestamps, in log order. A late event (older day) counts
    // against the newest day seen, so the cap depends only on the user's own log: replay gives the same answer.
    private bool ReachesItemSide(ExpandedUser u, long ms)
    {
        var cap = _options.MaxItemSideEventsPerDay;
        if (cap <= 0)
        {
            return true;
        }

        var day = (int)Math.Floor(ms / (double)MsPerDay);
        if (day > u.CapDay)
        {
            u.CapDay = day;
            u.CapCount = 0;
        }

        if (u.CapCount >= cap)
        {
            return false;
        }

        u.CapCount++;
        return true;
    }

    /// <summary>The user's history window and counts, as served by <c>GET /v1/users/{userId}</c>.</summary>
    public UserHistory GetHistory()
    {
        var u = Current;
        var items = new RecentItem[u.RecentCount];
        for (var i = 0; i < items.Length; i++)
        {
            var r = u.Recent[i];
            items[i] = new RecentItem(_ids[r.Item], r.Type, DateTimeOffset.FromUnixTimeMilliseconds(r.LastSeenMs), r.Interactions);
        }

        long[] byType = [u.Views, u.Clicks, u.Carts, u.Purchases];
        var counts = new Dictionary<string, long>(EventTypes.WireNames.Count);
        for (var t = 0; t < EventTypes.WireNames.Count; t++)
        {
            counts[EventTypes.WireNames[t]] = byType[t];
        }

        var total = u.TotalEvents;
        return new UserHistory(
            _userId,
            items,
            counts,
            total,
            total == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(u.LastEventMs));
    }

    /// <summary>The user's resting form (<see cref="PackedUser"/>): about half the memory of the model, in the silo's
    /// numbering of items. A partition's ingress keeps each user of a stored batch as these bytes
    /// (<see cref="UserWorkingSet"/>) and makes a model of them again (<see cref="FromPacked"/>) when the user is
    /// read or changed.</summary>
    public byte[] Pack() => _state as byte[] ?? PackedUser.Pack((ExpandedUser)_state);

    /// <summary>A model of <see cref="Pack"/>'s bytes, made with the same <paramref name="ids"/>. Reading it leaves
    /// the bytes packed; its first event unpacks them.</summary>
    public static UserModel FromPacked(string userId, UserGrainOptions options, ItemIdTable ids, byte[] packed)
    {
        ArgumentNullException.ThrowIfNull(packed);
        return new UserModel(userId, options, ids, (object)packed);
    }

    private static ExpandedUser Expand(UserGrainState? state, UserGrainOptions options, ItemIdTable ids)
    {
        var user = new ExpandedUser();
        if (state is null)
        {
            return user;
        }

        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ids);

        // A stored window longer than the configured one (the window was made shorter) keeps its most recent part.
        var length = Math.Min(state.Recent.Length, options.WindowSize);
        user.Recent = new RecentEntry[length];
        for (var i = 0; i < length; i++)
        {
            var r = state.Recent[i];
            user.Recent[i] = new RecentEntry(ids.Intern(r.ItemId), r.LastType, r.LastSeenMs, r.Interactions, r.Purchased);
        }

        user.RecentCount = length;
        (user.Views, user.Clicks, user.Carts, user.Purchases) = (Count(state.Counts, 0), Count(state.Counts, 1), Count(state.Counts, 2), Count(state.Counts, 3));
        user.LastEventMs = state.LastEventMs;
        user.CapDay = state.CapDay;
        user.CapCount = state.CapCount;
        user.Factors = state.Factors is { } stored ? ToHalves(stored) : null;
        return user;

        static long Count(long[] counts, int type) => type < counts.Length ? counts[type] : 0;
    }

    // The state to read: a packed user is unpacked into a copy and stays packed, so that reads (serving, the
    // history) leave a resting user at rest.
    private ExpandedUser Current => _state is ExpandedUser user ? user : PackedUser.Unpack((byte[])_state, growUpTo: 0);

    // The state to change: a packed user is unpacked for good, with room for one more window entry.
    private ExpandedUser Hot()
    {
        if (_state is ExpandedUser user)
        {
            return user;
        }

        user = PackedUser.Unpack((byte[])_state, growUpTo: _options.WindowSize);
        _state = user;
        return user;
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
}
