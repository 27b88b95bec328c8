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

        keys.Sort(counts);
        var distinct = Combine(keys, counts);
        keys = keys[..distinct];
        counts = counts[..distinct];

        // One pass over the row: how many keys are new, and whether any count leaves the 32-bit range.
        var added = 0;
        var needsWide = false;
        var row = Keys;
        for (int i = 0, j = 0; i < keys.Length; i++)
        {
            while (j < row.Length && row[j] < keys[i])
            {
                j++;
            }

            var isNew = j == row.Length || row[j] != keys[i];
            added += isNew ? 1 : 0;
            var result = isNew ? counts[i] : CountAt(j) + counts[i];
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
            // Both arrays allocated before either is replaced: an allocation that fails (a silo at its memory limit)
            // leaves the row as it was, not with its keys and counts of different lengths.
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
            Merge(_keys, wide, _length, keys, counts, length);
        }
        else
        {
            Merge(_keys, _narrow, _length, keys, counts, length);
        }

        _length = length;
    }

    // Merged from the end, in place: a slot is written only after the entry that was in it has moved. Checked
    // arithmetic: Add has already widened the row wherever a sum could leave T's range.
    private static void Merge<T>(int[] rowKeys, T[] rowCounts, int rowLength, ReadOnlySpan<int> keys, ReadOnlySpan<long> counts, int length)
        where T : struct, IBinaryInteger<T>
    {
        int r = rowLength - 1, d = keys.Length - 1, w = length - 1;
        while (d >= 0)
        {
            if (r >= 0 && rowKeys[r] > keys[d])
            {
                rowKeys[w] = rowKeys[r];
                rowCounts[w--] = rowCounts[r--];
            }
            else if (r >= 0 && rowKeys[r] == keys[d])
            {
                rowKeys[w] = keys[d];
                rowCounts[w--] = checked(rowCounts[r--] + T.CreateChecked(counts[d--]));
            }
            else
            {
                rowKeys[w] = keys[d];
                rowCounts[w--] = T.CreateChecked(counts[d--]);
            }
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
