using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// The users of one events partition that its ingress holds in memory: each user's <see cref="UserModel"/> (or the
/// knowledge that it has none), which users a batch changed, and which to forget when there are too many. A user
/// lives on one partition (events are keyed by user), so the partition's ingress is the only writer of its users.
/// </summary>
/// <remarks>
/// Turn-based, like the grain that owns it: no locks. Users come in from storage before a batch that touches them
/// (<see cref="Missing"/>, <see cref="Load"/>), change in memory while the batch is applied, and are handed to
/// storage with the batch (<see cref="Changed"/>); only users stored and untouched for longest are forgotten, so
/// memory never holds the only copy of a user beyond the batch in hand. Once stored, a user rests as its packed bytes
/// (<see cref="UserModel.Pack"/>) in a struct entry: the dictionary's entry and those bytes are all a resting user
/// costs besides its id (docs/benchmarks.md, "Memory").
/// </remarks>
public sealed class UserWorkingSet
{
    private readonly Dictionary<string, Entry> _users = new(StringComparer.Ordinal);
    private readonly List<string> _changed = [];
    private readonly UserGrainOptions _options;
    private readonly ItemIdTable _ids;
    private int _capacity;
    private long _clock;

    public UserWorkingSet(UserGrainOptions options, ItemIdTable ids, int capacity)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _options = options;
        _ids = ids;
        _capacity = capacity;
    }

    /// <summary>The most users kept in memory once stored. May change between batches (the ingress's share of its
    /// silo's budget); a lower capacity takes effect at the next <see cref="Stored"/>.</summary>
    public int Capacity
    {
        get => _capacity;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _capacity = value;
        }
    }

    /// <summary>Users in memory, those without a history included.</summary>
    public int Count => _users.Count;

    /// <summary>Users changed since the last <see cref="Stored"/>.</summary>
    public int ChangedCount => _changed.Count;

    /// <summary>Of <paramref name="userIds"/>, those not in memory: their stored state must be loaded first.</summary>
    public List<string> Missing(IEnumerable<string> userIds)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        var missing = new List<string>();
        foreach (var userId in userIds)
        {
            if (!_users.ContainsKey(userId))
            {
                missing.Add(userId);
            }
        }

        return missing;
    }

    /// <summary>Takes a user's stored state (null: nothing stored) into memory, unless the user is there already.</summary>
    public void Load(string userId, UserGrainState? stored)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (!_users.ContainsKey(userId))
        {
            _users[userId] = new Entry { State = stored is null ? null : new UserModel(userId, _options, _ids, stored), Touched = _clock };
        }
    }

    /// <summary>Whether the user is in memory, and its model (null: no history, or erased). For reading: a resting
    /// user's model is made from its packed bytes for the call, so events go through <see cref="Apply"/>.</summary>
    public bool TryGet(string userId, out UserModel? model)
    {
        if (_users.TryGetValue(userId, out var entry))
        {
            model = ModelOf(userId, entry.State);
            return true;
        }

        model = null;
        return false;
    }

    /// <summary>Applies one event, or the erase command (<paramref name="evt"/> null), to a user in memory.</summary>
    public void Apply(string userId, ClickEvent? evt, IItemDeltaSink itemSide, FactorTable? factors)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_users, userId);
        if (Unsafe.IsNullRef(ref entry))
        {
            throw new InvalidOperationException($"user {userId} is not in memory: load it before applying its events");
        }

        if (!entry.Changed)
        {
            entry.Changed = true;
            _changed.Add(userId);
        }

        entry.Touched = _clock;
        if (evt is null)
        {
            entry.State = null;
            return;
        }

        var model = ModelOf(userId, entry.State) ?? new UserModel(userId, _options, _ids);
        entry.State = model;
        model.Apply(evt, itemSide, factors);
    }

    /// <summary>The users changed since the last <see cref="Stored"/>, with their state to store (null: erased,
    /// delete it). Built when called: the batch is stored as it is now.</summary>
    public List<(string UserId, UserGrainState? State)> Changed()
    {
        var changed = new List<(string, UserGrainState?)>(_changed.Count);
        foreach (var userId in _changed)
        {
            changed.Add((userId, ModelOf(userId, _users[userId].State)?.ToState()));
        }

        return changed;
    }

    /// <summary>The changed users are stored: they rest packed (<see cref="UserModel.Pack"/>) and become
    /// forgettable, and the least recently touched users are forgotten while there are more than the capacity.</summary>
    public void Stored()
    {
        foreach (var userId in _changed)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_users, userId);
            entry.Changed = false;
            if (entry.State is UserModel model)
            {
                entry.State = model.Pack();
            }
        }

        _changed.Clear();
        _clock++;
        if (_users.Count > _capacity)
        {
            Forget();
        }
    }

    /// <summary>Storing the changed users failed: they are dropped from memory (their stored state is what counts,
    /// and they are loaded again when the batch is retried).</summary>
    public void Discard()
    {
        foreach (var userId in _changed)
        {
            _users.Remove(userId);
        }

        _changed.Clear();
    }

    // Down to nine tenths of the capacity, oldest first, so that forgetting happens once in a while rather than
    // after every batch.
    private void Forget()
    {
        var target = _capacity - (_capacity / 10);
        var byAge = _users.Where(u => !u.Value.Changed).OrderBy(u => u.Value.Touched).Take(_users.Count - target).Select(u => u.Key).ToList();
        foreach (var userId in byAge)
        {
            _users.Remove(userId);
        }
    }

    private UserModel? ModelOf(string userId, object? state) => state switch
    {
        null => null,
        UserModel model => model,
        _ => UserModel.FromPacked(userId, _options, _ids, (byte[])state),
    };

    /// <summary>A user in memory: 16 bytes in the dictionary's entry, where a class was 40 more in an object of its
    /// own.</summary>
    private struct Entry
    {
        // The clock of the batch that last touched the user, shifted left once, with the changed mark in the low bit.
        private long _touchedAndChanged;

        /// <summary>Null: no history (none stored, or erased). A <see cref="UserModel"/>: loaded or changed by the
        /// batch in hand. A byte array: the user at rest, packed.</summary>
        public object? State { get; set; }

        public long Touched
        {
            readonly get => _touchedAndChanged >> 1;
            set => _touchedAndChanged = (value << 1) | (_touchedAndChanged & 1);
        }

        public bool Changed
        {
            readonly get => (_touchedAndChanged & 1) != 0;
            set => _touchedAndChanged = (_touchedAndChanged & ~1L) | (value ? 1L : 0L);
        }
    }
}
