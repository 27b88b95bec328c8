using BenchmarkDotNet.Attributes;
using RecoCluster.Bench.Ingest;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Bench.Engine;

/// <summary>
/// What an item shard does with a batch's item side: every delta added to its item's counts and rows
/// (<see cref="ItemModel.Apply"/>: one batch per write; <see cref="ItemShardRoundBenchmarks"/> has a write take several
/// partitions' batches). The items are warm, as in a silo that has run a while: 400,000 events of the
/// ingest bench's workload applied before measuring, so a popular item's row holds thousands of entries while a
/// batch brings it far fewer (137 on average over its 5,000 items). Each invocation applies the next of 8 batches of 20,000 events
/// (Reco:Ingress:MaxBatchRecords), so the figures are per batch; divide by 20,000 for per event.
/// </summary>
[MemoryDiagnoser]
public class ItemApplyBenchmarks
{
    private const int BatchEvents = 20_000;
    private const int WarmBatches = 20;
    private const int MeasuredBatches = 8;

    private readonly Dictionary<string, ItemModel> _items = new(StringComparer.Ordinal);
    private readonly ItemIdTable _ids = new();
    private List<ItemDelta>[] _batches = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        // The ingest bench's stream (IngestWorkload).
        var batches = IngestWorkload.ItemSides(_ids, BatchEvents, WarmBatches + MeasuredBatches);
        foreach (var batch in batches.Take(WarmBatches))
        {
            Apply(batch);
        }

        _batches = [.. batches.Skip(WarmBatches)];
        Console.WriteLine($"// {_items.Count} items, longest row {_items.Values.Max(m => m.RowLength)}, "
            + $"{_batches[0].Count} deltas and {_batches[0].Sum(d => d.Others.Length)} row entries in a batch");
    }

    /// <summary>One batch's deltas added to warm items.</summary>
    [Benchmark]
    public int ApplyBatch()
    {
        var batch = _batches[_next++ % _batches.Length];
        Apply(batch);
        return batch.Count;
    }

    private void Apply(List<ItemDelta> batch)
    {
        foreach (var delta in batch)
        {
            if (!_items.TryGetValue(delta.ItemId, out var item))
            {
                _items[delta.ItemId] = item = new ItemModel(delta.ItemId, _ids);
            }

            item.Apply(delta);
        }
    }
}
