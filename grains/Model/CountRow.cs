namespace RecoCluster.Grains.Model;

/// <summary>
/// A row of integer counts keyed by item number (<see cref="ItemIdTable"/>): the co-occurrence row of an item. Two
/// arrays sorted by key, so an entry costs 12 bytes plus the free room kept for growth (up to half), where a
/// <c>Dictionary&lt;string, long&gt;</c> entry cost about 80 with its key string. A batch's changes are merged in
/// one pass over the row.
/// </summary>
public sealed class CountRow
{
    private int[] _keys = [];
    private long[] _counts = [];
    private int _length;

    /// <summary>Entries (non-zero counts).</summary>
    public int Length => _length;

    /// <summary>The keys, ascending.</summary>
    public ReadOnlySpan<int> Keys => _keys.AsSpan(0, _length);

    /// <summary>The counts, in the order of <see cref="Keys"/>.</summary>
    public ReadOnlySpan<long> Counts => _counts.AsSpan(0, _length);

    /// <summary>The count of <paramref name="key"/>, 0 when it has none.</summary>
    public long this[int key]
    {
        get
        {
            var at = Keys.BinarySearch(key);
            return at >= 0 ? _counts[at] : 0;
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

        var added = 0;
        var row = Keys;
        for (int i = 0, j = 0; i < keys.Length; i++)
        {
            while (j < row.Length && row[j] < keys[i])
            {
                j++;
            }

            if (j == row.Length || row[j] != keys[i])
            {
                added++;
            }
        }

        var length = _length + added;
        if (length > _keys.Length)
        {
            var capacity = Math.Max(4, length + (length / 2));
            Array.Resize(ref _keys, capacity);
            Array.Resize(ref _counts, capacity);
        }

        // Merged from the end, in place: a slot is written only after the entry that was in it has moved.
        int r = _length - 1, d = keys.Length - 1, w = length - 1;
        while (d >= 0)
        {
            if (r >= 0 && _keys[r] > keys[d])
            {
                _keys[w] = _keys[r];
                _counts[w--] = _counts[r--];
            }
            else if (r >= 0 && _keys[r] == keys[d])
            {
                _keys[w] = keys[d];
                _counts[w--] = _counts[r--] + counts[d--];
            }
            else
            {
                _keys[w] = keys[d];
                _counts[w--] = counts[d--];
            }
        }

        _length = length;
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
