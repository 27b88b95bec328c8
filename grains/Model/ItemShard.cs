using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>What <see cref="ItemShard.Apply"/> did with a batch's deltas.</summary>
public enum ShardApplyOutcome
{
    /// <summary>Applied in memory; stored with the next write.</summary>
    Applied,

    /// <summary>At or below the stored watermark of its partition: a replay, dropped.</summary>
    Replay,

    /// <summary>Applied in memory by an earlier call and not stored yet: the caller should retry once the write in
    /// progress has either stored it (then it is a replay) or failed (then it is applied again).</summary>
    NotYetStored,
}

/// <summary>
/// The items of one item shard, in memory: each item's <see cref="ItemModel"/>, and per events partition the end of
/// the last batch applied and of the last one stored (the watermarks). A batch of a partition at or below the stored
/// watermark is a replay and is dropped, so every batch counts exactly once; items and watermarks are stored
/// together (<see cref="TakeWrite"/>), so the two never disagree in storage.
/// </summary>
/// <remarks>Turn-based, like the grain that owns it: no locks.</remarks>
public sealed class ItemShard
{
    /// <summary>Log entries an item keeps at most before it is written whole: what loading it reads beyond its row.</summary>
    public const int MaxLogEntries = 16;

    private readonly Dictionary<string, ItemModel> _items = new(StringComparer.Ordinal);

    // The changed items, each with the deltas applied to it since the last write (kept by reference: they are
    // immutable, and a write encodes them as the item's change). Their counts are applied as they come, their row
    // entries at the write (ItemModel.ApplyCounts says why), or earlier for an item read: _rowsAdded holds how many
    // of an item's deltas a read has added to its rows (none when absent).
    private readonly Dictionary<string, List<ItemDelta>> _changed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _rowsAdded = new(StringComparer.Ordinal);
    private readonly ItemIdTable _ids;
    private readonly float _initScale;
    private Dictionary<int, long> _applied;
    private Dictionary<int, long> _stored;
    // The sum of the items' HeapBytes, kept as they are loaded, changed and forgotten; and the number of writes
    // stored, which orders the items by when they were last used.
    private long _heapBytes;
    private long _clock;
    // Items a call is waiting for storage for (with how many calls): they are not forgotten meanwhile (Pin).
    private readonly Dictionary<string, int> _pinned = new(StringComparer.Ordinal);

    /// <param name="ids">The silo's item numbers.</param>
    /// <param name="initScale">The factor model's initial vector scale.</param>
    /// <param name="storedWatermarks">The shard's stored watermarks.</param>
    public ItemShard(ItemIdTable ids, float initScale, IReadOnlyDictionary<int, long> storedWatermarks)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(storedWatermarks);
        _ids = ids;
        _initScale = initScale;
        _stored = new Dictionary<int, long>(storedWatermarks);
        _applied = new Dictionary<int, long>(storedWatermarks);
    }

    /// <summary>Items in memory.</summary>
    public int Count => _items.Count;

    /// <summary>About what the items in memory hold in the heap, in bytes (the sum of their
    /// <see cref="ItemModel.HeapBytes"/>).</summary>
    public long HeapBytes => _heapBytes;

    /// <summary>The most bytes (<see cref="HeapBytes"/>) the items may hold once a write is stored: beyond it, the
    /// stored items loaded or changed least recently are forgotten (and loaded again when a batch or a read needs them). May
    /// change between writes (the shard's share of its silo's budget).</summary>
    public long MemoryBudget { get; set; } = long.MaxValue;

    /// <summary>Items forgotten since the shard was created, to stay within <see cref="MemoryBudget"/>.</summary>
    public long Forgotten { get; private set; }

    /// <summary>Keeps <paramref name="itemIds"/> from being forgotten until <see cref="Unpin"/>: a call that reads
    /// some of its items from storage pins all of them first. Otherwise an item another call loads, changes, stores
    /// and has forgotten while this call waits would be loaded from this call's read, older than what is stored, and
    /// its stored changes lost; and an item this call found in memory could be gone when it applies.</summary>
    public void Pin(IEnumerable<string> itemIds)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        foreach (var itemId in itemIds)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(_pinned, itemId, out _)++;
        }
    }

    /// <summary>Undoes one <see cref="Pin"/> of the same items.</summary>
    public void Unpin(IEnumerable<string> itemIds)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        foreach (var itemId in itemIds)
        {
            ref var pins = ref CollectionsMarshal.GetValueRefOrNullRef(_pinned, itemId);
            if (!Unsafe.IsNullRef(ref pins) && --pins == 0)
            {
                _pinned.Remove(itemId);
            }
        }
    }

    /// <summary>Whether anything applied is not stored yet.</summary>
    public bool HasChanges => _changed.Count > 0 || !SameWatermarks();

    /// <summary>Of <paramref name="itemIds"/>, those not in memory: their stored state must be loaded first.</summary>
    public List<string> Missing(IEnumerable<string> itemIds)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        return [.. itemIds.Where(id => !_items.ContainsKey(id)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Takes a stored item (null: nothing stored) into memory, unless it is there already.</summary>
    public void Load(string itemId, StoredItem? stored)
    {
        ArgumentNullException.ThrowIfNull(itemId);
        if (!_items.ContainsKey(itemId))
        {
            var item = new ItemModel(itemId, _ids, stored?.State, _initScale) { Stored = stored?.Form ?? default, Touched = _clock };
            _items[itemId] = item;
            _heapBytes += item.HeapBytes;
        }
    }

    /// <summary>The item, if it is in memory, with every delta applied to it in its rows.</summary>
    public ItemModel? Find(string itemId)
    {
        if (_items.GetValueOrDefault(itemId) is not { } item)
        {
            return null;
        }

        if (_changed.TryGetValue(itemId, out var deltas))
        {
            AddRows(item, deltas, remember: true);
        }

        return item;
    }

    /// <summary>Applies the deltas of one batch of one events partition, unless the watermarks say it is a replay.
    /// Every item of the deltas must be in memory. Their row entries join the items' rows at the next write
    /// (<see cref="TakeWrite"/>), or at a read of the item (<see cref="Find"/>).</summary>
    public ShardApplyOutcome Apply(int partition, long batchEnd, IReadOnlyList<ItemDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        if (_stored.TryGetValue(partition, out var stored) && batchEnd <= stored)
        {
            return ShardApplyOutcome.Replay;
        }

        if (_applied.TryGetValue(partition, out var applied) && batchEnd <= applied)
        {
            return ShardApplyOutcome.NotYetStored;
        }

        foreach (var delta in deltas)
        {
            var item = _items.TryGetValue(delta.ItemId, out var found) ? found : throw new InvalidOperationException($"item {delta.ItemId} is not in memory: load it before applying its deltas");
            var before = item.HeapBytes;
            item.ApplyCounts(delta);
            _heapBytes += item.HeapBytes - before;
            item.Touched = _clock;
            (CollectionsMarshal.GetValueRefOrAddDefault(_changed, delta.ItemId, out _) ??= []).Add(delta);
        }

        _applied[partition] = batchEnd;
        return ShardApplyOutcome.Applied;
    }

    /// <summary>Everything applied and not stored, encoded now (a consistent copy, whatever is applied while it is
    /// written): each changed item whole or as its change, and the watermarks they reach.</summary>
    /// <remarks>
    /// An item stored before gets its change appended to its log (the sums of its deltas' counts, their row entries
    /// and its vector now), unless that would make the log longer than the item's stored row or give it more than
    /// <see cref="MaxLogEntries"/> entries: then it is written whole, and its log deleted. A popular item's row
    /// holds thousands of entries while a write changes a few of them: its whole form is now written once its
    /// changes add up to its size, or once in <see cref="MaxLogEntries"/> + 1 writes, instead of at every write.
    /// Reading an item reads its row and at most as many bytes again, in at most that many rows. The forms are updated here, before the
    /// write is stored: a write that fails leaves the shard to be read from storage again (<c>ItemShardGrain</c>).
    /// <para>The changed items' rows take in here the row entries of every batch applied since the last write, in one
    /// merge per row (<see cref="ItemModel.AddRows"/>), so the rows written are whole; a merge that fails is a failed
    /// write too.</para>
    /// </remarks>
    public ShardWrite TakeWrite()
    {
        var whole = new List<(string ItemId, byte[] Payload)>();
        var logs = new List<ItemLogWrite>();
        var cleared = new List<string>();
        foreach (var (itemId, deltas) in _changed)
        {
            var item = _items[itemId];
            AddRows(item, deltas, remember: false);
            var form = item.Stored;
            if (form.BaseBytes > 0 && form.LogEntries < MaxLogEntries)
            {
                var moved = deltas.Exists(d => d.FactorDelta is { Length: > 0 });
                var change = ItemGrainStateCodec.EncodeChange(deltas, moved ? item.Factors : null, _ids);
                if (form.LogBytes + change.Length <= form.BaseBytes)
                {
                    logs.Add(new ItemLogWrite(itemId, form.NextSeq, change));
                    item.Stored = form with { LogBytes = form.LogBytes + change.Length, LogEntries = form.LogEntries + 1, NextSeq = form.NextSeq + 1 };
                    continue;
                }
            }

            var payload = ItemGrainStateCodec.Encode(item);
            whole.Add((itemId, payload));
            if (form.LogEntries > 0)
            {
                cleared.Add(itemId);
            }

            item.Stored = new ItemStoredForm(payload.Length, 0, 0, 0);
        }

        _changed.Clear();
        _rowsAdded.Clear();
        return new ShardWrite(whole, logs, cleared, new Dictionary<int, long>(_applied));
    }

    /// <summary><paramref name="write"/> is stored: its watermarks are the stored ones.</summary>
    public void Written(ShardWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        _stored = new Dictionary<int, long>(write.Watermarks);
        _clock++;
        if (_heapBytes > MemoryBudget)
        {
            Forget();
        }
    }

    // Down to nine tenths of the budget, least recently loaded or changed first, so that forgetting happens once in a
    // while rather than after every write. Only items whose every change is stored go (a changed item is the only
    // copy of its change until the next write), and none that a call waiting for storage has pinned.
    private void Forget()
    {
        var target = MemoryBudget - (MemoryBudget / 10);
        var byAge = _items.Where(i => !_changed.ContainsKey(i.Key) && !_pinned.ContainsKey(i.Key)).OrderBy(i => i.Value.Touched).ToList();
        foreach (var (itemId, item) in byAge)
        {
            if (_heapBytes <= target)
            {
                break;
            }

            _items.Remove(itemId);
            _heapBytes -= item.HeapBytes;
            Forgotten++;
        }
    }

    // The item's deltas not yet in its rows added to them, and the rows' growth counted. A write (remember false)
    // clears _rowsAdded afterwards, and reads between writes are few: the lookup is skipped while it is empty.
    private void AddRows(ItemModel item, List<ItemDelta> deltas, bool remember)
    {
        var added = _rowsAdded.Count == 0 ? 0 : _rowsAdded.GetValueOrDefault(item.ItemId);
        if (added == deltas.Count)
        {
            return;
        }

        var before = item.HeapBytes;
        item.AddRows(CollectionsMarshal.AsSpan(deltas)[added..]);
        _heapBytes += item.HeapBytes - before;
        if (remember)
        {
            _rowsAdded[item.ItemId] = deltas.Count;
        }
    }

    private bool SameWatermarks() => _applied.Count == _stored.Count && _applied.All(p => _stored.TryGetValue(p.Key, out var s) && s == p.Value);
}

/// <summary>One write of an item shard, stored in one transaction.</summary>
/// <param name="Items">Items written whole (<see cref="ItemGrainStateCodec.Encode(ItemModel)"/>).</param>
/// <param name="Logs">Changes appended to items' logs (<see cref="ItemGrainStateCodec.EncodeChange"/>).</param>
/// <param name="ClearedLogs">Items written whole whose log entries are deleted.</param>
/// <param name="Watermarks">Per events partition, the end of the last batch these writes contain.</param>
public sealed record ShardWrite(
    IReadOnlyList<(string ItemId, byte[] Payload)> Items,
    IReadOnlyList<ItemLogWrite> Logs,
    IReadOnlyList<string> ClearedLogs,
    Dictionary<int, long> Watermarks);

/// <summary>An entry of an item's log: the item's change since its previous write.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Seq">The entry's number: the item's entries are added in this order.</param>
/// <param name="Payload">The change (<see cref="ItemGrainStateCodec.EncodeChange"/>).</param>
public readonly record struct ItemLogWrite(string ItemId, int Seq, byte[] Payload);
