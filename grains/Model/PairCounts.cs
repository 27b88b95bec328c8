using System.Buffers;
using System.Numerics;

namespace RecoCluster.Grains.Model;

/// <summary>
/// Sums of counts per (item, other item) pair, in one open-addressing table keyed by the pair: the hot half of a
/// <see cref="DeltaCombiner"/>. Every event adds up to two pairs per window item, so an addition is one hash and,
/// nearly always, one or two probes of two flat arrays, where a dictionary per item took two dictionary lookups.
/// </summary>
/// <remarks>
/// Written by hand: no collection of the framework keys a table by a pair of ints without a lookup per half. Keys
/// are <c>item &lt;&lt; 32 | other</c> with both numbers non-negative (<see cref="ItemIdTable"/>), so -1 marks an
/// empty slot. The table stays at most half full; <see cref="TakeRows"/> empties it and gives the capacity back
/// when a batch used little of it, so an ingress keeps about its recent batches' size. A batch's table is larger
/// than the caches (a 20,000-event batch fills it with hundreds of thousands of pairs), so the layout is chosen for
/// cache misses: a slot holds its key and its sum side by side (one miss per addition, not two), the drain copies
/// the pairs out once in the order they came and cuts rows from that copy, and a table mostly used is emptied by
/// one sequential fill instead of a write per pair.
/// </remarks>
internal sealed class PairCounts
{
    private const int MinBits = 10;
    private const long Empty = -1;

    private Slot[] _slots;
    // The occupied slots in the order they were filled: taking and clearing visit these, not the whole table.
    private int[] _used;
    private int _count;
    private int _bits;
    private int _maxItem;
    private int[] _rowOf = [];

    public PairCounts() => Allocate(MinBits);

    /// <summary>Distinct pairs held.</summary>
    public int Count => _count;

    public void Add(int item, int other, long value)
    {
        var key = ((long)item << 32) | (uint)other;
        var slots = _slots;
        var mask = slots.Length - 1;
        var at = SlotOf(key);
        while (true)
        {
            ref var slot = ref slots[at];
            if (slot.Key == key)
            {
                slot.Value += value;
                return;
            }

            if (slot.Key == Empty)
            {
                _maxItem = Math.Max(_maxItem, item);
                slot.Key = key;
                slot.Value = value;
                _used[_count++] = at;
                if (_count * 2 > slots.Length)
                {
                    Grow();
                }

                return;
            }

            at = (at + 1) & mask;
        }
    }

    /// <summary>Every pair and its sum as one row per item (its other items' ids and the sums, in no particular
    /// order), into arrays the caller keeps; the table is left empty.</summary>
    /// <remarks>Cut by counting, not sorting: one pass counts each item's pairs, one places them, so a batch's
    /// hundreds of thousands of pairs cost a few passes, not a sort.</remarks>
    public List<(int Item, string[] Others, long[] Counts)> TakeRows(ItemIdTable ids)
    {
        var rows = new List<(int Item, string[] Others, long[] Counts)>();
        if (_count == 0)
        {
            Clear();
            return rows;
        }

        // Per item number: first its pair count, then its row's index in `rows`.
        if (_rowOf.Length <= _maxItem)
        {
            _rowOf = new int[Math.Max(_maxItem + 1, _rowOf.Length * 2)];
        }

        // The drain's copy of the pairs in the order they came, from the shared pool: it is as large as the batch's
        // pairs, and an ingress drains once per batch, so keeping one per ingress would hold that much per partition.
        var rented = ArrayPool<Slot>.Shared.Rent(_count);
        var taken = rented.AsSpan(0, _count);
        var rowOf = _rowOf;
        for (var i = 0; i < taken.Length; i++)
        {
            taken[i] = _slots[_used[i]];
            var item = ItemOf(taken[i].Key);
            if (rowOf[item]++ == 0)
            {
                rows.Add((item, [], []));
            }
        }

        for (var r = 0; r < rows.Count; r++)
        {
            var item = rows[r].Item;
            rows[r] = (item, new string[rowOf[item]], new long[rowOf[item]]);
            rowOf[item] = r;
        }

        var filled = new int[rows.Count];
        foreach (var pair in taken)
        {
            var r = rowOf[ItemOf(pair.Key)];
            var at = filled[r]++;
            var (_, others, counts) = rows[r];
            others[at] = ids[OtherOf(pair.Key)];
            counts[at] = pair.Value;
        }

        foreach (var (item, _, _) in rows)
        {
            rowOf[item] = 0;
        }

        ArrayPool<Slot>.Shared.Return(rented);

        Clear();
        return rows;
    }

    /// <summary>Empties the table, shrinking it when the last batch used under an eighth of it.</summary>
    public void Clear()
    {
        var used = _count;
        _count = 0;
        if (_bits > MinBits && used * 8 < _slots.Length)
        {
            Allocate(Math.Max(MinBits, BitOperations.Log2((uint)Math.Max(1, used * 2)) + 1));
        }
        else if (used * 16 > _slots.Length)
        {
            // Past a sixteenth of the slots, one sequential pass costs less than a cache miss per used slot.
            Array.Fill(_slots, new Slot(Empty, 0));
        }
        else
        {
            for (var i = 0; i < used; i++)
            {
                _slots[_used[i]].Key = Empty;
            }
        }
    }

    /// <summary>The item of a key.</summary>
    public static int ItemOf(long key) => (int)(key >> 32);

    /// <summary>The other item of a key.</summary>
    public static int OtherOf(long key) => (int)(uint)key;

    // Fibonacci hashing: the pair's bits mixed by one multiplication, the top bits taken.
    private int SlotOf(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> (64 - _bits));

    private void Grow()
    {
        var (slots, used, count) = (_slots, _used, _count);
        Allocate(_bits + 1);
        var mask = _slots.Length - 1;
        for (var i = 0; i < count; i++)
        {
            var moved = slots[used[i]];
            var at = SlotOf(moved.Key);
            while (_slots[at].Key != Empty)
            {
                at = (at + 1) & mask;
            }

            _slots[at] = moved;
            _used[_count++] = at;
        }
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_slots), nameof(_used))]
    private void Allocate(int bits)
    {
        _bits = bits;
        _slots = new Slot[1 << bits];
        Array.Fill(_slots, new Slot(Empty, 0));
        _used = new int[(1 << bits) / 2 + 1];
        _count = 0;
    }

    /// <summary>A pair (<see cref="ItemOf"/>, <see cref="OtherOf"/>) and its sum, side by side in one cache line.
    /// Fields, not properties: an accessor that a tier of the JIT does not inline costs a call per probe.</summary>
    private struct Slot(long key, long value)
    {
        public long Key = key;
        public long Value = value;
    }
}
