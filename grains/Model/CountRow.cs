using System.Buffers;
using System.Numerics;

namespace RecoCluster.Grains.Model;

/// <summary>
/// A row of integer counts keyed by item number (<see cref="ItemIdTable"/>): the co-occurrence row of an item. Two
/// arrays sorted by key, so an entry costs 8 bytes plus the free room kept for growth (up to half), where a
/// <c>Dictionary&lt;string, long&gt;</c> entry cost about 80 with its key string. A batch's changes are merged in
/// one pass over the row.
/// </summary>
/// <remarks>
/// The counts are 32-bit while every one of them fits, which is every row in practice: a pair would need more than
/// two billion weighted meetings. A change that would take a count past <see cref="int.MaxValue"/> first moves the
/// row's counts to 64 bits for good, so a count never wraps and the row stays exact whatever it is given.
/// </remarks>
public sealed class CountRow
{
    private int[] _keys = [];
    private int[] _narrow = [];
    private long[]? _wide;
    private int _length;

    // The row object and its three array headers, in bytes (64-bit runtime), for HeapBytes.
    private const int Overhead = 40 + (3 * 24);

    /// <summary>Entries (non-zero counts).</summary>
    public int Length => _length;

    /// <summary>About what the row holds in the heap, in bytes: its object and its arrays, their free room
    /// included. An estimate for a memory budget, not a measurement.</summary>
    public long HeapBytes => Overhead + (4L * _keys.Length) + (4L * _narrow.Length) + (8L * (_wide?.Length ?? 0));

    /// <summary>The keys, ascending.</summary>
    public ReadOnlySpan<int> Keys => _keys.AsSpan(0, _length);

    /// <summary>Whether the counts are held in 64 bits (some count passed <see cref="int.MaxValue"/>).</summary>
    public bool IsWide => _wide is not null;

    /// <summary>The count of <paramref name="key"/>, 0 when it has none.</summary>
    public long this[int key]
    {
        get
        {
            var at = Keys.BinarySearch(key);
            return at >= 0 ? CountAt(at) : 0;
        }
    }

    /// <summary>The count of the entry at <paramref name="index"/>, in the order of <see cref="Keys"/>.</summary>
    public long CountAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_length, nameof(index));
        return _wide is { } wide ? wide[index] : _narrow[index];
    }

    /// <summary>Copies the counts, in the order of <see cref="Keys"/>, into <paramref name="destination"/>.</summary>
    public void CopyCountsTo(Span<long> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, _length, nameof(destination));
        if (_wide is { } wide)
        {
            wide.AsSpan(0, _length).CopyTo(destination);
            return;
        }

        for (var i = 0; i < _length; i++)
        {
            destination[i] = _narrow[i];
        }
    }

    /// <summary>Adds <paramref name="counts"/>[k] to the count of <paramref name="keys"/>[k], for every k. The keys
    /// need not be sorted or distinct; both spans are reordered.</summary>
    /// <remarks>
    /// A batch brings most items far fewer keys than a popular item's row holds (thousands), and every partition's batch
    /// brings its own: so the cost follows the change, not the row. Each key's place is found by a galloping search
    /// from the last one's; existing keys are added to in place, and new keys are put in by moving the runs of the
    /// row between them once each (block copies), from the end, so nothing is moved twice.
    /// </remarks>
    public void Add(Span<int> keys, Span<long> counts)
    {
        if (keys.Length != counts.Length)
        {
            throw new ArgumentException("keys and counts differ in length");
        }

        if (keys.IsEmpty)
        {
            return;
        }

        if (!IsAscending(keys))
        {
            keys.Sort(counts);
        }

        var distinct = Combine(keys, counts);
        keys = keys[..distinct];
        counts = counts[..distinct];

        // Where each key goes (its lower bound in the row), how many keys are new, and whether any count leaves the
        // 32-bit range; nothing is changed until all of it is known.
        var rented = keys.Length > StackPlaces ? ArrayPool<int>.Shared.Rent(keys.Length) : null;
        Span<int> places = rented is null ? stackalloc int[StackPlaces] : rented;
        try
        {
            var added = 0;
            var needsWide = false;
            var row = Keys;
            for (int i = 0, from = 0; i < keys.Length; i++)
            {
                var at = LowerBound(row, from, keys[i]);
                places[i] = from = at;
                var isNew = at == row.Length || row[at] != keys[i];
                added += isNew ? 1 : 0;
                var result = isNew ? counts[i] : CountAt(at) + counts[i];
                needsWide |= result is > int.MaxValue or < int.MinValue;
            }

            if (needsWide && _wide is null)
            {
                _wide = new long[_narrow.Length];
                for (var i = 0; i < _length; i++)
                {
                    _wide[i] = _narrow[i];
                }

                _narrow = [];
            }

            var length = _length + added;
            if (length > _keys.Length)
            {
                // Both arrays allocated before either is replaced: an allocation that fails (a silo at its memory
                // limit) leaves the row as it was, not with its keys and counts of different lengths.
                var capacity = Math.Max(4, length + (length / 2));
                var keysGrown = new int[capacity];
                _keys.AsSpan(0, _length).CopyTo(keysGrown);
                if (_wide is not null)
                {
                    var wideGrown = new long[capacity];
                    _wide.AsSpan(0, _length).CopyTo(wideGrown);
                    _wide = wideGrown;
                }
                else
                {
                    var narrowGrown = new int[capacity];
                    _narrow.AsSpan(0, _length).CopyTo(narrowGrown);
                    _narrow = narrowGrown;
                }

                _keys = keysGrown;
            }

            if (_wide is { } wide)
            {
                Merge(_keys, wide, _length, keys, counts, places[..keys.Length], added);
            }
            else
            {
                Merge(_keys, _narrow, _length, keys, counts, places[..keys.Length], added);
            }

            _length = length;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    // Keys placed with stack memory; a longer change (an item loaded whole) rents.
    private const int StackPlaces = 256;

    private static bool IsAscending(ReadOnlySpan<int> keys)
    {
        for (var i = 1; i < keys.Length; i++)
        {
            if (keys[i] < keys[i - 1])
            {
                return false;
            }
        }

        return true;
    }

    // The first index at or after `from` whose key is not below `key` (row.Length when none): steps of 1, 2, 4, ...
    // from `from`, then a binary search within the last step, so a key near the last one costs a few probes and a
    // far one a logarithm.
    private static int LowerBound(ReadOnlySpan<int> row, int from, int key)
    {
        int low = from, high = from, step = 1;
        while (high < row.Length && row[high] < key)
        {
            low = high + 1;
            high += step;
            step <<= 1;
        }

        high = Math.Min(high, row.Length);
        while (low < high)
        {
            var middle = (int)((uint)(low + high) >> 1);
            if (row[middle] < key)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    // Merged from the end, in place. `places` holds each key's lower bound in the old row. Walking the keys from the
    // last, `shift` is how many of the keys not yet placed are new, which is how far every old entry between this
    // key's place and the last one handled moves: one block copy per run. A slot is written only after the entry
    // in it has moved (the writes land at or after place + shift, the reads before it). Once no new key is left,
    // the rest are added to in place. Checked arithmetic: Add has already widened the row wherever a sum could
    // leave T's range.
    private static void Merge<T>(int[] rowKeys, T[] rowCounts, int rowLength, ReadOnlySpan<int> keys, ReadOnlySpan<long> counts, ReadOnlySpan<int> places, int shift)
        where T : struct, IBinaryInteger<T>
    {
        var end = rowLength; // old entries at and after `end` have been moved already
        var d = keys.Length - 1;
        for (; d >= 0 && shift > 0; d--)
        {
            var at = places[d];
            var exists = at < end && rowKeys[at] == keys[d];
            var run = exists ? at + 1 : at;
            if (end > run)
            {
                rowKeys.AsSpan(run, end - run).CopyTo(rowKeys.AsSpan(run + shift));
                rowCounts.AsSpan(run, end - run).CopyTo(rowCounts.AsSpan(run + shift));
            }

            if (exists)
            {
                rowKeys[at + shift] = keys[d];
                rowCounts[at + shift] = checked(rowCounts[at] + T.CreateChecked(counts[d]));
            }
            else
            {
                shift--;
                rowKeys[at + shift] = keys[d];
                rowCounts[at + shift] = T.CreateChecked(counts[d]);
            }

            end = at;
        }

        for (; d >= 0; d--)
        {
            var at = places[d];
            rowCounts[at] = checked(rowCounts[at] + T.CreateChecked(counts[d]));
        }
    }

    // Sums the counts of equal keys (sorted), keeping one entry each; returns how many remain.
    private static int Combine(Span<int> keys, Span<long> counts)
    {
        var w = 0;
        for (var i = 1; i < keys.Length; i++)
        {
            if (keys[i] == keys[w])
            {
                counts[w] += counts[i];
            }
            else
            {
                w++;
                keys[w] = keys[i];
                counts[w] = counts[i];
            }
        }

        return w + 1;
    }
}
