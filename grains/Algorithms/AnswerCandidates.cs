using System.Runtime.InteropServices;

namespace RecoCluster.Grains.Algorithms;

/// <summary>
/// The candidates of one answer by item id: a map from item to a slot of an array of structs. A recommendation
/// gathers about a thousand (a window of 20 items, 50 neighbours each); as objects in a fresh dictionary they were
/// most of an answer's allocations. Instances are reused per thread (<see cref="Rent"/>, <see cref="Return"/>):
/// an answer is computed synchronously on one thread, and a table keeps its capacity between answers.
/// </summary>
internal sealed class AnswerCandidates
{
    // Two per thread: a cart answer uses two tables at once (bought together, seen together).
    [ThreadStatic]
    private static AnswerCandidates? t_first;

    [ThreadStatic]
    private static AnswerCandidates? t_second;

    // Tables grown past this are not kept, so that one huge answer does not pin its arrays to a thread.
    private const int MaxKeptCapacity = 16_384;

    private readonly Dictionary<string, int> _slots = new(256, StringComparer.Ordinal);
    private AnswerCandidate[] _items = new AnswerCandidate[256];

    private Scored[] _ranked = new Scored[128];

    /// <summary>The factor model's bounded heap of rows, reused by the answers of this table.</summary>
    public PriorityQueue<int, float> FactorHeap { get; } = new();

    /// <summary>Slots in use, excluded ones included.</summary>
    public int Count { get; private set; }

    /// <summary>The slots in use, in the order their items were first met.</summary>
    public Span<AnswerCandidate> Items => _items.AsSpan(0, Count);

    /// <summary>A cleared table: this thread's spare one, or a new one. Give it back with <see cref="Return"/>; a
    /// table not given back (an exception) is simply collected.</summary>
    public static AnswerCandidates Rent()
    {
        var table = t_first;
        if (table is not null)
        {
            t_first = null;
            return table;
        }

        table = t_second;
        if (table is not null)
        {
            t_second = null;
            return table;
        }

        return new AnswerCandidates();
    }

    /// <summary>Clears <paramref name="table"/> and keeps it for this thread's next answer. The caller must hold no
    /// reference to it or its items afterwards.</summary>
    public static void Return(AnswerCandidates table)
    {
        if (table._items.Length > MaxKeptCapacity)
        {
            return;
        }

        // Item ids are cleared with the slots, so a kept table holds no strings of an old snapshot.
        table._items.AsSpan(0, table.Count).Clear();
        table._slots.Clear();
        table._ranked.AsSpan().Clear();
        table.FactorHeap.Clear();
        table.Count = 0;
        if (t_first is null)
        {
            t_first = table;
        }
        else
        {
            t_second ??= table;
        }
    }

    /// <summary>The slot of <paramref name="itemId"/>, added (zeroed, with the id) when it is new.</summary>
    public ref AnswerCandidate GetOrAdd(string itemId, out bool added)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_slots, itemId, out var exists);
        added = !exists;
        if (!exists)
        {
            if (Count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            slot = Count++;
            _items[slot].ItemId = itemId;
        }

        return ref _items[slot];
    }

    /// <summary>A buffer of at least <paramref name="size"/> ranked items, for the factor model's top rows.</summary>
    public Scored[] RankBuffer(int size)
    {
        if (_ranked.Length < size)
        {
            _ranked = new Scored[size];
        }

        return _ranked;
    }

    /// <summary>Whether <paramref name="itemId"/> has a slot that is not excluded.</summary>
    public bool ContainsIncluded(string itemId) => _slots.TryGetValue(itemId, out var slot) && !_items[slot].Excluded;

    /// <summary>Scales <see cref="AnswerCandidate.Neighborhood"/> and <see cref="AnswerCandidate.Sequential"/>, each
    /// on its own, so that the largest of the included candidates is 1 (a source with no positive score is left
    /// alone).</summary>
    public void NormalizeSources()
    {
        var items = Items;
        var maxNeighborhood = 0.0;
        var maxSequential = 0.0;
        foreach (ref readonly var c in items)
        {
            if (!c.Excluded)
            {
                maxNeighborhood = Math.Max(maxNeighborhood, c.Neighborhood);
                maxSequential = Math.Max(maxSequential, c.Sequential);
            }
        }

        var n = maxNeighborhood > 0 ? maxNeighborhood : 1;
        var s = maxSequential > 0 ? maxSequential : 1;
        foreach (ref var c in items)
        {
            c.Neighborhood /= n;
            c.Sequential /= s;
        }
    }
}
