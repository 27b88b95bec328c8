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
    private readonly Dictionary<string, ItemModel> _items = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);
    private readonly ItemIdTable _ids;
    private readonly float _initScale;
    private Dictionary<int, long> _applied;
    private Dictionary<int, long> _stored;

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

    /// <summary>Whether anything applied is not stored yet.</summary>
    public bool HasChanges => _changed.Count > 0 || !SameWatermarks();

    /// <summary>Of <paramref name="itemIds"/>, those not in memory: their stored state must be loaded first.</summary>
    public List<string> Missing(IEnumerable<string> itemIds)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        return [.. itemIds.Where(id => !_items.ContainsKey(id)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Takes an item's stored state (null: nothing stored) into memory, unless it is there already.</summary>
    public void Load(string itemId, ItemGrainState? stored)
    {
        ArgumentNullException.ThrowIfNull(itemId);
        if (!_items.ContainsKey(itemId))
        {
            _items[itemId] = new ItemModel(itemId, _ids, stored, _initScale);
        }
    }

    /// <summary>The item, if it is in memory.</summary>
    public ItemModel? Find(string itemId) => _items.GetValueOrDefault(itemId);

    /// <summary>Applies the deltas of one batch of one events partition, unless the watermarks say it is a replay.
    /// Every item of the deltas must be in memory.</summary>
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
            (_items.TryGetValue(delta.ItemId, out var item) ? item : throw new InvalidOperationException($"item {delta.ItemId} is not in memory: load it before applying its deltas")).Apply(delta);
            _changed.Add(delta.ItemId);
        }

        _applied[partition] = batchEnd;
        return ShardApplyOutcome.Applied;
    }

    /// <summary>Everything applied and not stored, encoded now (a consistent copy, whatever is applied while it is
    /// written): the changed items' states and the watermarks they reach.</summary>
    public ShardWrite TakeWrite()
    {
        var items = new List<(string ItemId, byte[] Payload)>(_changed.Count);
        foreach (var itemId in _changed)
        {
            items.Add((itemId, ItemGrainStateCodec.Encode(_items[itemId].ToState())));
        }

        _changed.Clear();
        return new ShardWrite(items, new Dictionary<int, long>(_applied));
    }

    /// <summary><paramref name="write"/> is stored: its watermarks are the stored ones.</summary>
    public void Written(ShardWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        _stored = new Dictionary<int, long>(write.Watermarks);
    }

    private bool SameWatermarks() => _applied.Count == _stored.Count && _applied.All(p => _stored.TryGetValue(p.Key, out var s) && s == p.Value);
}

/// <summary>One write of an item shard: the changed items' encoded states and the watermarks they reach.</summary>
public sealed record ShardWrite(IReadOnlyList<(string ItemId, byte[] Payload)> Items, Dictionary<int, long> Watermarks);
