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
/// when a batch used little of it, so an ingress keeps about its recent batches' size.
/// </remarks>
internal sealed class PairCounts
{
    private const int MinBits = 10;
    private const long Empty = -1;

    private long[] _keys;
    private long[] _values;
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
        var keys = _keys;
        var mask = keys.Length - 1;
        var slot = Slot(key);
        while (true)
        {
            var found = keys[slot];
            if (found == key)
            {
                _values[slot] += value;
                return;
            }

            if (found == Empty)
            {
                _maxItem = Math.Max(_maxItem, item);
                keys[slot] = key;
                _values[slot] = value;
                _used[_count++] = slot;
                if (_count * 2 > keys.Length)
                {
                    Grow();
                }

                return;
            }

            slot = (slot + 1) & mask;
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

        var rowOf = _rowOf;
        for (var i = 0; i < _count; i++)
        {
            var item = ItemOf(_keys[_used[i]]);
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
        for (var i = 0; i < _count; i++)
        {
            var slot = _used[i];
            var key = _keys[slot];
            var r = rowOf[ItemOf(key)];
            var at = filled[r]++;
            var (_, others, counts) = rows[r];
            others[at] = ids[OtherOf(key)];
            counts[at] = _values[slot];
        }

        foreach (var (item, _, _) in rows)
        {
            rowOf[item] = 0;
        }

        Clear();
        return rows;
    }

    /// <summary>Empties the table, shrinking it when the last batch used under an eighth of it.</summary>
    public void Clear()
    {
        var used = _count;
        for (var i = 0; i < used; i++)
        {
            _keys[_used[i]] = Empty;
        }

        _count = 0;
        if (_bits > MinBits && used * 8 < _keys.Length)
        {
            Allocate(Math.Max(MinBits, BitOperations.Log2((uint)Math.Max(1, used * 2)) + 1));
        }
    }

    /// <summary>The item of a key.</summary>
    public static int ItemOf(long key) => (int)(key >> 32);

    /// <summary>The other item of a key.</summary>
    public static int OtherOf(long key) => (int)(uint)key;

    // Fibonacci hashing: the pair's bits mixed by one multiplication, the top bits taken.
    private int Slot(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> (64 - _bits));

    private void Grow()
    {
        var (keys, values, used, count) = (_keys, _values, _used, _count);
        Allocate(_bits + 1);
        var mask = _keys.Length - 1;
        for (var i = 0; i < count; i++)
        {
            var key = keys[used[i]];
            var slot = Slot(key);
            while (_keys[slot] != Empty)
            {
                slot = (slot + 1) & mask;
            }

            _keys[slot] = key;
            _values[slot] = values[used[i]];
            _used[_count++] = slot;
        }
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_keys), nameof(_values), nameof(_used))]
    private void Allocate(int bits)
    {
        _bits = bits;
        _keys = new long[1 << bits];
        Array.Fill(_keys, Empty);
        _values = new long[1 << bits];
        _used = new int[(1 << bits) / 2 + 1];
        _count = 0;
    }
}
