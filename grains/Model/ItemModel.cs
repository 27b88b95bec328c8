using System.Buffers;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>An item's count and co-occurrence row. Counts are integers, so the cluster's rows equal a batch recount
/// of the same events exactly, whatever the order in which batches from different partitions arrive.</summary>
/// <remarks>Rows are keyed by the silo's item numbers (<see cref="ItemIdTable"/>), in <see cref="CountRow"/>s.</remarks>
public sealed class ItemModel
{
    private readonly ItemIdTable _ids;
    private readonly float _initScale;
    private readonly CountRow _row = new();
    private CountRow? _purchaseRow;
    private CountRow? _nextRow;
    private float[]? _factors;

    public ItemModel(string itemId, ItemIdTable ids, ItemGrainState? state = null, float factorInitScale = 0.1f)
    {
        ArgumentException.ThrowIfNullOrEmpty(itemId);
        ArgumentNullException.ThrowIfNull(ids);
        ItemId = itemId;
        _ids = ids;
        _initScale = factorInitScale;
        if (state is null)
        {
            return;
        }

        Count = state.Count;
        PurchaseCount = state.PurchaseCount;
        Add(_row, state.RowItems, state.RowCounts);
        if (state.PurchaseItems.Length > 0)
        {
            Add(_purchaseRow = new CountRow(), state.PurchaseItems, state.PurchaseCounts);
        }

        if (state.NextItems.Length > 0)
        {
            Add(_nextRow = new CountRow(), state.NextItems, state.NextCounts);
        }

        _factors = state.Factors;
    }

    // The model object with its fields and its entry in its shard's table, in bytes (64-bit runtime), for HeapBytes.
    private const int Overhead = 160;

    public string ItemId { get; }

    /// <summary>About what the item holds in the heap, in bytes: its object, its rows and its vector (not its id
    /// string, which the silo's id table usually holds anyway). An estimate for its shard's memory budget, not a
    /// measurement.</summary>
    public long HeapBytes => Overhead + _row.HeapBytes + (_purchaseRow?.HeapBytes ?? 0) + (_nextRow?.HeapBytes ?? 0)
        + (_factors is null ? 0 : 24 + (4L * _factors.Length));

    /// <summary>The write clock of its shard when the item was last loaded or changed (<see cref="ItemShard"/>), for
    /// forgetting the least recently loaded or changed first (reads do not count: a read of an item not in memory
    /// is served from storage).</summary>
    internal long Touched { get; set; }

    /// <summary>N[item].</summary>
    public long Count { get; private set; }

    /// <summary>NP[item].</summary>
    public long PurchaseCount { get; private set; }

    /// <summary>Entries of C[item][·].</summary>
    public int RowLength => _row.Length;

    /// <summary>Entries of P[item][·].</summary>
    public int PurchaseRowLength => _purchaseRow?.Length ?? 0;

    /// <summary>Entries of S[item][·].</summary>
    public int NextRowLength => _nextRow?.Length ?? 0;

    /// <summary>How the item is stored now: kept by its shard, which decides at each write whether to write the
    /// item whole or append its change (<see cref="ItemShard.TakeWrite"/>).</summary>
    public ItemStoredForm Stored { get; set; }

    // What the codec writes the item from (ItemGrainStateCodec.Encode(ItemModel)).
    internal ItemIdTable Ids => _ids;

    internal CountRow Row => _row;

    internal CountRow? PurchaseRow => _purchaseRow;

    internal CountRow? NextRow => _nextRow;

    internal float[]? Factors => _factors;

    /// <summary>Adds a combined delta to the item's counts, rows and vector.</summary>
    public void Apply(ItemDelta delta)
    {
        ApplyCounts(delta);
        AddRows(new ReadOnlySpan<ItemDelta>(in delta));
    }

    /// <summary>Adds a combined delta to the item's counts and vector, not to its rows: <see cref="AddRows"/> adds
    /// the row entries of several such deltas at once. Until then the rows lag the counts.</summary>
    /// <remarks>An item shard applies each batch's deltas this way and adds their rows at its next write
    /// (<see cref="ItemShard.TakeWrite"/>): every partition's ingress sends it one batch per write, so a popular item
    /// gets a delta from each, and a long row that took them one at a time moved behind every new key once per
    /// partition.</remarks>
    public void ApplyCounts(ItemDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        // Checked here, so that a malformed delta fails the batch that brings it rather than a later AddRows.
        CheckLengths(delta.Others, delta.Numbers?.Others, delta.OtherCounts);
        if (delta.PurchaseOthers is { Length: > 0 } purchases)
        {
            CheckLengths(purchases, delta.Numbers?.PurchaseOthers, delta.PurchaseOtherCounts);
        }

        if (delta.NextOthers is { Length: > 0 } next)
        {
            CheckLengths(next, delta.Numbers?.NextOthers, delta.NextOtherCounts);
        }

        Count += delta.Count;
        PurchaseCount += delta.PurchaseCount;
        if (delta.FactorDelta is { Length: > 0 } step)
        {
            if (_factors is null || _factors.Length != step.Length)
            {
                _factors = new float[step.Length];
                Algorithms.Bpr.InitItem(ItemId, _initScale, _factors);
            }

            System.Numerics.Tensors.TensorPrimitives.Add(_factors, step, _factors);
        }
    }

    /// <summary>Adds the row entries of <paramref name="deltas"/>, whose counts <see cref="ApplyCounts"/> applied,
    /// to the rows: all of a row's entries in one merge.</summary>
    /// <remarks>A merge that fails halfway (an allocation at the pod's memory limit) leaves the rows with part of the
    /// deltas: the model must then be dropped and read again from storage, which <c>ItemShardGrain</c> does after a
    /// failed write.</remarks>
    public void AddRows(ReadOnlySpan<ItemDelta> deltas)
    {
        AddRowsTo(_row, deltas, RowKind.Cooccurrence);
        foreach (var delta in deltas)
        {
            if (delta.PurchaseOthers is { Length: > 0 })
            {
                AddRowsTo(_purchaseRow ??= new CountRow(), deltas, RowKind.Purchase);
                break;
            }
        }

        foreach (var delta in deltas)
        {
            if (delta.NextOthers is { Length: > 0 })
            {
                AddRowsTo(_nextRow ??= new CountRow(), deltas, RowKind.Next);
                break;
            }
        }
    }

    /// <summary>The state to store, with item ids as strings.</summary>
    public ItemGrainState ToState()
    {
        var (rowItems, rowCounts) = Entries(_row);
        var (purchaseItems, purchaseCounts) = _purchaseRow is null ? ([], []) : Entries(_purchaseRow);
        var (nextItems, nextCounts) = _nextRow is null ? ([], []) : Entries(_nextRow);
        return new ItemGrainState
        {
            Count = Count,
            RowItems = rowItems,
            RowCounts = rowCounts,
            PurchaseCount = PurchaseCount,
            PurchaseItems = purchaseItems,
            PurchaseCounts = purchaseCounts,
            NextItems = nextItems,
            NextCounts = nextCounts,
            Factors = _factors?.ToArray(),
        };
    }

    /// <summary>C[item][other], 0 when they never met.</summary>
    public long CountWith(string other) => _ids.Find(other) is var n and >= 0 ? _row[n] : 0;

    /// <summary>The item's count and its <paramref name="count"/> largest co-occurrences (and purchase and sequential
    /// entries).</summary>
    public ItemCooccurrence GetCooccurrence(int count) =>
        new(ItemId, Count, _row.Length, Top(_row, count), PurchaseCount, PurchaseRowLength, _purchaseRow is null ? [] : Top(_purchaseRow, count), NextRowLength, _nextRow is null ? [] : Top(_nextRow, count));

    // Largest first, ties by item id (ordinal).
    private List<Neighbor> Top(CountRow row, int count)
    {
        var keys = row.Keys;
        var order = new int[keys.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var ids = _ids;
        var countsArray = new long[keys.Length];
        row.CopyCountsTo(countsArray);
        var keysArray = keys.ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byCount = countsArray[b].CompareTo(countsArray[a]);
            return byCount != 0 ? byCount : string.CompareOrdinal(ids[keysArray[a]], ids[keysArray[b]]);
        });
        var top = new List<Neighbor>(Math.Min(count, order.Length));
        for (var i = 0; i < order.Length && i < count; i++)
        {
            top.Add(new Neighbor(ids[keysArray[order[i]]], countsArray[order[i]]));
        }

        return top;
    }

    private (string[] Items, long[] Counts) Entries(CountRow row)
    {
        var keys = row.Keys;
        var items = new string[keys.Length];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = _ids[keys[i]];
        }

        var counts = new long[items.Length];
        row.CopyCountsTo(counts);
        return (items, counts);
    }

    private enum RowKind
    {
        Cooccurrence,
        Purchase,
        Next,
    }

    // A delta's entries for one of the rows; its numbers only when they are this model's table's (they stand for the
    // ids as they are; any others are looked up).
    private (string[]? Items, int[]? Numbers, long[]? Counts) EntriesOf(ItemDelta delta, RowKind kind)
    {
        var numbers = delta.Numbers is { } n && ReferenceEquals(n.Table, _ids) ? n : null;
        return kind switch
        {
            RowKind.Cooccurrence => (delta.Others, numbers?.Others, delta.OtherCounts),
            RowKind.Purchase => (delta.PurchaseOthers, numbers?.PurchaseOthers, delta.PurchaseOtherCounts),
            _ => (delta.NextOthers, numbers?.NextOthers, delta.NextOtherCounts),
        };
    }

    // The deltas' entries for one row, one after another in pooled arrays, added in one CountRow.Add (which sorts
    // them in place and sums equal keys). Merging the deltas' sorted runs two by two instead of sorting them all
    // measured level on ItemShardRoundBenchmarks and the ingest bench, so the simpler stays.
    private void AddRowsTo(CountRow row, ReadOnlySpan<ItemDelta> deltas, RowKind kind)
    {
        var total = 0;
        foreach (var delta in deltas)
        {
            total += EntriesOf(delta, kind).Items?.Length ?? 0;
        }

        if (total == 0)
        {
            return;
        }

        var keys = ArrayPool<int>.Shared.Rent(total);
        var values = ArrayPool<long>.Shared.Rent(total);
        try
        {
            var at = 0;
            foreach (var delta in deltas)
            {
                var (items, numbers, counts) = EntriesOf(delta, kind);
                if (items is not { Length: > 0 })
                {
                    continue;
                }

                if (numbers is not null)
                {
                    numbers.CopyTo(keys, at);
                }
                else
                {
                    for (var i = 0; i < items.Length; i++)
                    {
                        keys[at + i] = _ids.Intern(items[i]);
                    }
                }

                counts!.CopyTo(values, at);
                at += items.Length;
            }

            row.Add(keys.AsSpan(0, total), values.AsSpan(0, total));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(keys);
            ArrayPool<long>.Shared.Return(values);
        }
    }

    private void CheckLengths(string[] items, int[]? numbers, long[]? counts)
    {
        if (items.Length != (counts?.Length ?? 0) || (numbers is not null && numbers.Length != items.Length))
        {
            throw new ArgumentException($"item {ItemId}: a row's items, numbers and counts differ in length ({items.Length}, {numbers?.Length} and {counts?.Length})");
        }
    }

    // A stored state's row: ids as strings.
    private void Add(CountRow row, string[] items, long[] counts)
    {
        CheckLengths(items, null, counts);

        // Pooled: CountRow.Add sorts the change in place.
        var keys = ArrayPool<int>.Shared.Rent(items.Length);
        var values = ArrayPool<long>.Shared.Rent(items.Length);
        try
        {
            for (var i = 0; i < items.Length; i++)
            {
                keys[i] = _ids.Intern(items[i]);
            }

            counts.CopyTo(values, 0);
            row.Add(keys.AsSpan(0, items.Length), values.AsSpan(0, items.Length));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(keys);
            ArrayPool<long>.Shared.Return(values);
        }
    }
}
