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
/// lock. The table only grows (an id keeps its number once it has one); it is bounded by the catalog, at about the
/// size of the ids themselves plus 30 bytes each.
/// </remarks>
public sealed class ItemIdTable
{
    private readonly ConcurrentDictionary<string, int> _numbers;
    private readonly Lock _gate = new();

    // Written under the lock, read without it: an id is stored in the array before its number is published in
    // _numbers, and a grown array is published before the number that needed it, so whoever holds a number can
    // read its id.
    private volatile string[] _ids = new string[1024];
    private int _count;

    public ItemIdTable()
    {
        _numbers = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
    }

    /// <summary>How many ids have a number.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The id of <paramref name="number"/>, which this table gave.</summary>
    public string this[int number] => _ids[number];

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
            Volatile.Write(ref _count, number + 1);
            _numbers[id] = number;
            return number;
        }
    }
}
