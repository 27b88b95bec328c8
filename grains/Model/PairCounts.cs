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
/// A log, not a table keyed by the pair (this class's first form), because a batch's pairs repeat little: on the
/// ingest bench's workload (20,000 users, 5,000 items, Zipf-like) 98-99 % of a batch's additions were distinct
/// pairs. The table summed almost nothing and cost 32 to 64 bytes per pair (16-byte slots, at most half of them
/// used), grown by doubling through the large-object heap, with a cache miss per addition once past the caches:
/// 25 MB per partition in a silo catching up on 32 partitions, 800 MB of its 1.4 GB heap. The log costs 16 bytes
/// per addition, written in order, and the drain sums it with two linear counting passes. A log holds every repeat
/// until the drain, at most <c>MaxBatchRecords</c> × 2 × window additions in a batch; on the engine's
/// micro-benchmark, whose 2,000 items repeat far more, it is still the faster of the two (docs/benchmarks.md).
/// </para>
/// <para>
/// The log keeps its capacity from batch to batch (an ingress keeps about its recent batches' size) and gives it
/// back when a batch used under an eighth of it.
/// </para>
/// </remarks>
internal sealed class PairCounts
{
    private const int MinCapacity = 1_024;

    private Addition[] _log = new Addition[MinCapacity];
    private int _count;
    private int _maxItem;
    private int _maxOther;

    // Per item number, during a drain: where its entries go in the sort's current pass. One per thread, not per
    // log: it is as long as the silo's largest item number (4 MB for a million items), and every partition has
    // three logs. A drain runs start to end on one thread.
    [ThreadStatic]
    private static int[]? t_offsets;

    /// <summary>Additions held since the last drain.</summary>
    public int Count => _count;

    public void Add(int item, int other, long value)
    {
        if (_count == _log.Length)
        {
            Array.Resize(ref _log, _log.Length * 2);
        }

        _log[_count++] = new Addition(item, other, value);
        _maxItem = Math.Max(_maxItem, item);
        _maxOther = Math.Max(_maxOther, other);
    }

    /// <summary>Every pair and its sum as one row per item (its other items' ids, ascending by their numbers, and
    /// the sums), into arrays the caller keeps; the log is left empty.</summary>
    /// <remarks>A radix sort of two counting passes, by the other item and then, stably, by the item: each item's
    /// entries come out in one stretch ordered by the other item, and equal pairs sit side by side to be summed.
    /// Linear in the additions, where sorting each item's stretch cost a comparison sort per row.</remarks>
    public List<(int Item, string[] Others, long[] Counts)> TakeRows(ItemIdTable ids)
    {
        var rows = new List<(int Item, string[] Others, long[] Counts)>();
        if (_count == 0)
        {
            Clear();
            return rows;
        }

        var log = _log.AsSpan(0, _count);
        var buckets = Math.Max(_maxItem, _maxOther) + 2;
        if (t_offsets is null || t_offsets.Length < buckets)
        {
            t_offsets = new int[Math.Max(buckets, (t_offsets?.Length ?? 0) * 2)];
        }

        // The sorted copy, from the shared pool: as large as the batch's additions, and an ingress drains once per
        // batch, so keeping one per ingress would hold that much per partition between batches.
        var pooled = ArrayPool<Addition>.Shared.Rent(_count);
        var byOther = pooled.AsSpan(0, _count);
        var offsets = t_offsets.AsSpan(0, buckets);

        // By the other item: count, turn the counts into where each one's entries start, place.
        offsets.Clear();
        foreach (ref readonly var addition in log)
        {
            offsets[addition.Other + 1]++;
        }

        for (var k = 1; k < offsets.Length; k++)
        {
            offsets[k] += offsets[k - 1];
        }

        foreach (ref readonly var addition in log)
        {
            byOther[offsets[addition.Other]++] = addition;
        }

        // Then by the item, into the log itself (it is emptied below), keeping each item's entries in the order of
        // the other item.
        offsets.Clear();
        foreach (ref readonly var addition in byOther)
        {
            offsets[addition.Item + 1]++;
        }

        for (var k = 1; k < offsets.Length; k++)
        {
            offsets[k] += offsets[k - 1];
        }

        foreach (ref readonly var addition in byOther)
        {
            log[offsets[addition.Item]++] = addition;
        }

        ArrayPool<Addition>.Shared.Return(pooled);

        // One row per stretch of an item, equal pairs summed.
        var others = new List<string>();
        var counts = new List<long>();
        for (var at = 0; at < log.Length;)
        {
            var item = log[at].Item;
            others.Clear();
            counts.Clear();
            for (; at < log.Length && log[at].Item == item; at++)
            {
                if (counts.Count > 0 && log[at - 1].Other == log[at].Other)
                {
                    counts[^1] += log[at].Value;
                }
                else
                {
                    others.Add(ids[log[at].Other]);
                    counts.Add(log[at].Value);
                }
            }

            rows.Add((item, [.. others], [.. counts]));
        }

        Clear();
        return rows;
    }

    /// <summary>Empties the log, shrinking it when the last batch used under an eighth of it.</summary>
    public void Clear()
    {
        if (_log.Length > MinCapacity && _count * 8 < _log.Length)
        {
            _log = new Addition[Math.Max(MinCapacity, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, _count * 2)))];
        }

        _count = 0;
        _maxItem = 0;
        _maxOther = 0;
    }

    /// <summary>One addition: the pair (<see cref="ItemIdTable"/> numbers) and its count.</summary>
    private readonly record struct Addition(int Item, int Other, long Value);
}
