namespace RecoCluster.Silo.Runtime;

/// <summary>
/// The activated grains of one partition, with the set of those changed since the last checkpoint. Grains are
/// activated on first use and deactivated when idle; only clean grains are deactivated, because a clean grain
/// equals its stored state and can be reloaded at any time. Touched only from the partition's loop.
/// </summary>
internal sealed class GrainCache<TGrain>
    where TGrain : class
{
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);

    public int Count => _slots.Count;

    public int DirtyCount => _dirty.Count;

    public bool TryGet(string key, long now, out TGrain grain)
    {
        if (_slots.TryGetValue(key, out var slot))
        {
            slot.LastUsed = now;
            grain = slot.Grain;
            return true;
        }

        grain = null!;
        return false;
    }

    public void Add(string key, TGrain grain, long now) => _slots.Add(key, new Slot(grain) { LastUsed = now });

    public void MarkDirty(string key) => _dirty.Add(key);

    /// <summary>Drops a grain from memory whether or not it is dirty (its changes are discarded): used when the
    /// grain is erased, never for idleness.</summary>
    public void Remove(string key)
    {
        _slots.Remove(key);
        _dirty.Remove(key);
    }

    /// <summary>Every activated grain.</summary>
    public IEnumerable<(string Key, TGrain Grain)> All() => _slots.Select(s => (s.Key, s.Value.Grain));

    public IEnumerable<(string Key, TGrain Grain)> Dirty() => _dirty.Select(key => (key, _slots[key].Grain));

    public void ClearDirty() => _dirty.Clear();

    /// <summary>Deactivates clean grains last used before <paramref name="usedBefore"/>; returns how many.</summary>
    public int EvictIdle(long usedBefore)
    {
        var idle = _slots.Where(s => s.Value.LastUsed < usedBefore && !_dirty.Contains(s.Key)).Select(s => s.Key).ToList();
        foreach (var key in idle)
        {
            _slots.Remove(key);
        }

        return idle.Count;
    }

    public void Clear()
    {
        _slots.Clear();
        _dirty.Clear();
    }

    private sealed class Slot(TGrain grain)
    {
        public TGrain Grain { get; } = grain;

        public long LastUsed { get; set; }
    }
}
