using System.Collections.Concurrent;

namespace RecoCluster.Grains.Model;

/// <summary>
/// The item ids a silo has met, each given a small number for the life of the process. Models hold these numbers
/// instead of strings: a window entry or a co-occurrence entry costs 4 bytes for its item instead of a reference to
/// a string of its own (every event's parser makes a new one), and comparing or hashing an item is an integer
/// operation. The numbers never leave the process: stored states and grain messages carry the ids.
/// </summary>
/// <remarks>
/// The grains of a silo run on several threads at once: looking a number up takes no lock, and adding one takes a
/// lock. The table only grows (an id keeps its number once it has one); it is bounded by the catalog, at about
/// three bytes per character of the ids plus 60 bytes per id. It also keeps each id in UTF-8
/// (<see cref="Utf8"/>): an item written whole writes every id of its row, and copying bytes costs a fraction of
/// encoding the string again each time (the largest single cost of a shard's writes in a profile of the scale
/// bench, docs/benchmarks.md).
/// </remarks>
public sealed class ItemIdTable
{
    private readonly ConcurrentDictionary<string, int> _numbers;
    private readonly Lock _gate = new();

    // Written under the lock, read without it: an id is stored in the array before its number is published in
    // _numbers, and a grown array is published before the number that needed it, so whoever holds a number can
    // read its id.
    private volatile string[] _ids = new string[1024];
    // The ids in UTF-8, one after another in one buffer (not an array each: 4 bytes of offset per id instead of a
    // 24-byte object header), and where each starts; the end of id n is the start of id n + 1. Published like _ids.
    private volatile byte[] _utf8 = new byte[16 * 1024];
    private volatile int[] _utf8Starts = new int[1025];
    private int _count;

    public ItemIdTable()
    {
        _numbers = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
    }

    /// <summary>How many ids have a number.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The id of <paramref name="number"/>, which this table gave.</summary>
    public string this[int number] => _ids[number];

    /// <summary>The id of <paramref name="number"/>, which this table gave, in UTF-8.</summary>
    public ReadOnlySpan<byte> Utf8(int number)
    {
        // The starts first: a buffer read after them holds every id they point into (it only grows by copying).
        var starts = _utf8Starts;
        var start = starts[number];
        return _utf8.AsSpan(start, starts[number + 1] - start);
    }

    /// <summary>The number of <paramref name="id"/>, given now if it has none.</summary>
    public int Intern(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return _numbers.TryGetValue(id, out var number) ? number : Add(id);
    }

    /// <summary>The number of <paramref name="id"/>, or -1 when it has none (nothing is added).</summary>
    public int Find(string id) => _numbers.TryGetValue(id, out var number) ? number : -1;

    private int Add(string id)
    {
        lock (_gate)
        {
            if (_numbers.TryGetValue(id, out var number))
            {
                return number;
            }

            number = _count;
            var ids = _ids;
            if (number == ids.Length)
            {
                Array.Resize(ref ids, ids.Length * 2);
            }

            ids[number] = id;
            _ids = ids;
            AddUtf8(number, id);
            Volatile.Write(ref _count, number + 1);
            _numbers[id] = number;
            return number;
        }
    }

    // Under the lock. The buffer and the starts are replaced by larger copies, never changed in place where a
    // reader may look, so a reader that holds a number sees its bytes whichever copies it reads.
    private void AddUtf8(int number, string id)
    {
        var starts = _utf8Starts;
        if (number + 2 > starts.Length)
        {
            Array.Resize(ref starts, starts.Length * 2);
        }

        var start = starts[number];
        var length = System.Text.Encoding.UTF8.GetByteCount(id);
        var bytes = _utf8;
        if (start + length > bytes.Length)
        {
            Array.Resize(ref bytes, Math.Max(bytes.Length * 2, start + length));
        }

        System.Text.Encoding.UTF8.GetBytes(id, bytes.AsSpan(start, length));
        starts[number + 1] = start + length;
        _utf8 = bytes;
        _utf8Starts = starts;
    }
}
