using BenchmarkDotNet.Attributes;
using RecoCluster.Bench.Ingest;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Bench.Engine;

/// <summary>
/// One round of an item shard as a silo runs it: the batches of <see cref="Partitions"/> partitions applied
/// (<see cref="ItemShard.Apply"/>), then the write that stores them taken (<see cref="ItemShard.TakeWrite"/>: the
/// changed items encoded whole or as a log entry). A shard's write waits for the batches that arrive meanwhile
/// (<c>Reco:Items:WriteIntervalMs</c>), and every partition's ingress sends one batch per round, so a popular item
/// gets one delta per partition per write. The round's batches hold 20,000 events between them whatever the
/// partition count, so the figures are per 20,000 events. The items are warm: 400,000 events applied and written
/// before measuring, so a popular item's row holds thousands of entries.
/// </summary>
[MemoryDiagnoser]
public class ItemShardRoundBenchmarks
{
    private const int RoundEvents = 20_000;
    private const int WarmRounds = 20;
    private const int MeasuredRounds = 8;

    private readonly ItemIdTable _ids = new();
    private ItemShard _shard = null!;
    private List<ItemDelta>[][] _rounds = [];
    private long[] _batchEnds = [];
    private int _next;

    /// <summary>Partitions whose batches one write gathers.</summary>
    [Params(1, 8, 32)]
    public int Partitions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // The ingest bench's stream (IngestWorkload), cut into batches of RoundEvents / Partitions events.
        var batches = IngestWorkload.ItemSides(_ids, RoundEvents / Partitions, (WarmRounds + MeasuredRounds) * Partitions);
        var rounds = batches.Chunk(Partitions).ToArray();
        _shard = new ItemShard(_ids, 0.1f, new Dictionary<int, long>());
        _batchEnds = new long[Partitions];
        foreach (var round in rounds.Take(WarmRounds))
        {
            Round(round);
        }

        _rounds = [.. rounds.Skip(WarmRounds)];
        var itemIds = batches.SelectMany(b => b).Select(d => d.ItemId).Distinct(StringComparer.Ordinal);
        Console.WriteLine($"// {_shard.Count} items, longest row {itemIds.Max(id => _shard.Find(id)?.RowLength ?? 0)}, "
            + $"{_rounds[0].Sum(b => b.Count)} deltas and {_rounds[0].Sum(b => b.Sum(d => d.Others.Length))} row entries in a round");
    }

    /// <summary>A round's batches applied to warm items, and its write taken.</summary>
    [Benchmark]
    public int ApplyAndTakeWrite() => Round(_rounds[_next++ % _rounds.Length]);

    private int Round(List<ItemDelta>[] round)
    {
        for (var p = 0; p < round.Length; p++)
        {
            var deltas = round[p];
            foreach (var itemId in _shard.Missing(deltas.Select(d => d.ItemId)))
            {
                _shard.Load(itemId, null);
            }

            _shard.Apply(p, ++_batchEnds[p], deltas);
        }

        var write = _shard.TakeWrite();
        _shard.Written(write);
        return write.Items.Count + write.Logs.Count;
    }
}
