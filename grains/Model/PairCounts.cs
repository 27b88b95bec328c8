using System.Buffers;

namespace RecoCluster.Grains.Model;

/// <summary>
/// Sums of counts per (item, other item) pair over a batch: the hot half of a <see cref="DeltaCombiner"/>. Every
/// event adds up to two pairs per window item. An addition is appended to a flat log; the drain sums the log per
/// pair and cuts it into one row per item.
/// </summary>
/// <remarks>
/// Written by hand: no collection of the framework sums by a pair of ints without a lookup per addition.
/// <para>
/// A log, not a table keyed by the pair (this class's first form), because a batch's pairs repeat little (nearly
/// all of a batch's additions were distinct pairs on the ingest bench's workload; docs/benchmarks.md, "Where the
/// CPU goes once the silo runs"). The table then summed almost nothing and cost 32 to 64 bytes per pair (16-byte
/// slots, at most half of them used), grown by doubling through the large-object heap, with a cache miss per
/// addition once past the caches, and a silo holds one per partition. The log costs 16 bytes per addition, written
/// in order, and the drain sums it with two linear counting passes. A log holds every repeat until the drain, at
/// most <c>MaxBatchRecords</c> × 2 × window additions in a batch; on the engine's micro-benchmark, whose 2,000
/// items repeat far more, it is still the faster of the two.
/// </para>
/// <para>
/// The log is a list of chunks of 4,096 additions (64 KB, under the large-object threshold): it grows without
/// copying and without the large-object heap, where an array doubled through it. It keeps its chunks from batch to
/// batch (an ingress keeps about its recent batches' size) and gives them back when a batch used under an eighth.
/// </para>
/// </remarks>
internal sealed class PairCounts
{
    private const int ChunkBits = 12;
    private const int ChunkSize = 1 << ChunkBits;

    private readonly List<Addition[]> _chunks = [new Addition[ChunkSize]];
    private Addition[] _current;
    private int _inCurrent;
    private int _count;
    private int _maxItem;
    private int _maxOther;

    // Per item number, during a drain: where its entries go in the sort's current pass. One per thread, not per
    // log: it is as long as the silo's largest item number (4 MB for a million items), and every partition has
    // three logs. A drain runs start to end on one thread.
    [ThreadStatic]
    private static int[]? t_offsets;

    public PairCounts() => _current = _chunks[0];

    /// <summary>Additions held since the last drain.</summary>
    public int Count => _count;

    public void Add(int item, int other, long value)
    {
        if (_inCurrent == ChunkSize)
        {
            NextChunk();
        }

        _current[_inCurrent++] = new Addition(item, other, value);
        _count++;
        _maxItem = Math.Max(_maxItem, item);
        _maxOther = Math.Max(_maxOther, other);
    }

    /// <summary>Every pair and its sum as one row per item (its other items' ids, ascending by their numbers, the
    /// same numbers, and the sums), into arrays the caller keeps; the log is left empty.</summary>
    /// <remarks>A radix sort of two counting passes, by the other item and then, stably, by the item: each item's
    /// entries come out in one stretch ordered by the other item, and equal pairs sit side by side to be summed.
    /// Linear in the additions; sorting each item's stretch by comparison instead was slower than the table this log
    /// replaced (docs/benchmarks.md, "Micro-benchmarks").</remarks>
    public List<(int Item, string[] Others, int[] Numbers, long[] Counts)> TakeRows(ItemIdTable ids)
    {
        var rows = new List<(int Item, string[] Others, int[] Numbers, long[] Counts)>();
        if (_count == 0)
        {
            Clear();
            return rows;
        }

        var buckets = Math.Max(_maxItem, _maxOther) + 2;
        if (t_offsets is null || t_offsets.Length < buckets)
        {
            t_offsets = new int[Math.Max(buckets, (t_offsets?.Length ?? 0) * 2)];
        }

        var offsets = t_offsets.AsSpan(0, buckets);

        // The two passes' copies, from the shared pool: each as large as the batch's additions, and an ingress
        // drains once per batch, so keeping them per ingress would hold that much per partition between batches.
        var otherPool = ArrayPool<Addition>.Shared.Rent(_count);
        var itemPool = ArrayPool<Addition>.Shared.Rent(_count);
        var byOther = otherPool.AsSpan(0, _count);
        var byItem = itemPool.AsSpan(0, _count);

        // By the other item: count, turn the counts into where each one's entries start, place.
        offsets.Clear();
        for (var c = 0; c < _chunks.Count && c * ChunkSize < _count; c++)
        {
            foreach (ref readonly var addition in Chunk(c))
            {
                offsets[addition.Other + 1]++;
            }
        }

        StartsFromCounts(offsets);
        for (var c = 0; c < _chunks.Count && c * ChunkSize < _count; c++)
        {
            foreach (ref readonly var addition in Chunk(c))
            {
                byOther[offsets[addition.Other]++] = addition;
            }
        }

        // Then by the item, keeping each item's entries in the order of the other item.
        offsets.Clear();
        foreach (ref readonly var addition in byOther)
        {
            offsets[addition.Item + 1]++;
        }

        StartsFromCounts(offsets);
        foreach (ref readonly var addition in byOther)
        {
            byItem[offsets[addition.Item]++] = addition;
        }

        // One row per stretch of an item, equal pairs summed.
        for (var at = 0; at < byItem.Length;)
        {
            var item = byItem[at].Item;
            var end = at + 1;
            var distinct = 1;
            for (; end < byItem.Length && byItem[end].Item == item; end++)
            {
                if (byItem[end].Other != byItem[end - 1].Other)
                {
                    distinct++;
                }
            }

            var others = new string[distinct];
            var numbers = new int[distinct];
            var counts = new long[distinct];
            var d = -1;
            for (var i = at; i < end; i++)
            {
                if (i == at || byItem[i].Other != byItem[i - 1].Other)
                {
                    numbers[++d] = byItem[i].Other;
                    others[d] = ids[byItem[i].Other];
                }

                counts[d] += byItem[i].Value;
            }

            rows.Add((item, others, numbers, counts));
            at = end;
        }

        ArrayPool<Addition>.Shared.Return(otherPool);
        ArrayPool<Addition>.Shared.Return(itemPool);
        Clear();
        return rows;
    }

    /// <summary>Empties the log, giving back chunks when the last batch used under an eighth of them.</summary>
    public void Clear()
    {
        var used = (_count + ChunkSize - 1) >> ChunkBits;
        if (_chunks.Count > 1 && used * 8 < _chunks.Count)
        {
            var keep = Math.Max(1, used * 2);
            _chunks.RemoveRange(keep, _chunks.Count - keep);
        }

        _current = _chunks[0];
        _inCurrent = 0;
        _count = 0;
        _maxItem = 0;
        _maxOther = 0;
    }

    // The chunk after the current one, kept from an earlier batch or new.
    private void NextChunk()
    {
        var next = _count >> ChunkBits;
        if (next == _chunks.Count)
        {
            _chunks.Add(new Addition[ChunkSize]);
        }

        _current = _chunks[next];
        _inCurrent = 0;
    }

    // The additions held in chunk c.
    private ReadOnlySpan<Addition> Chunk(int c) => _chunks[c].AsSpan(0, Math.Min(ChunkSize, _count - (c * ChunkSize)));

    // Counts by key at [key + 1] become the start of each key's stretch at [key].
    private static void StartsFromCounts(Span<int> offsets)
    {
        for (var k = 1; k < offsets.Length; k++)
        {
            offsets[k] += offsets[k - 1];
        }
    }

    /// <summary>One addition: the pair (<see cref="ItemIdTable"/> numbers) and its count.</summary>
    private readonly record struct Addition(int Item, int Other, long Value);
}
