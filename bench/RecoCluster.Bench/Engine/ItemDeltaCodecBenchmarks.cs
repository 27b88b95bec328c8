using BenchmarkDotNet.Attributes;
using RecoCluster.Bench.Ingest;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Bench.Engine;

/// <summary>
/// A batch's item side through <see cref="ItemDeltaCodec"/>, the three ways a silo pays for it: encoded whole when
/// the batch is stored with its users, encoded once per item shard when the shards live on other silos (Orleans
/// serializes an <see cref="ItemDeltaBatch"/> through <see cref="ItemDeltaBatchConverter"/>), and decoded by a shard
/// that received it. The batch is what an ingress drains after 20,000 events (Reco:Ingress:MaxBatchRecords) of the
/// ingest bench's workload, so the figures are per batch; divide by 20,000 for per event.
/// </summary>
[MemoryDiagnoser]
public class ItemDeltaCodecBenchmarks
{
    private const int BatchEvents = 20_000;
    private const int Shards = 32;

    private List<ItemDelta> _batch = [];
    private ItemDelta[][] _byShard = [];
    private byte[][] _shardPayloads = [];

    [GlobalSetup]
    public void Setup()
    {
        // The ingest bench's stream (IngestWorkload), its second batch. Its 20,000 users then hold about one event
        // each, so its rows are short beside a running silo's (ItemApplyBenchmarks' batches, after 400,000 events,
        // name seven times as many entries); the figures in docs/benchmarks.md were taken on this batch.
        _batch = IngestWorkload.ItemSides(new ItemIdTable(), BatchEvents, batches: 2)[1];
        _byShard = [.. _batch.GroupBy(d => RecoCluster.Silo.Items.ItemShards.Of(d.ItemId, Shards)).Select(g => g.ToArray())];
        _shardPayloads = [.. _byShard.Select(s => ItemDeltaCodec.Encode(s))];
        Console.WriteLine($"// {_batch.Count} items, {_batch.Sum(d => d.Others.Length + (d.PurchaseOthers?.Length ?? 0) + (d.NextOthers?.Length ?? 0))} row entries, "
            + $"{ItemDeltaCodec.Encode(_batch).Length:N0} bytes whole, {_shardPayloads.Sum(p => p.Length):N0} bytes in {_byShard.Length} shard slices");
    }

    /// <summary>The batch's item side as stored with its users.</summary>
    [Benchmark]
    public int EncodeWhole() => ItemDeltaCodec.Encode(_batch).Length;

    /// <summary>The same deltas in one payload per shard, as sent to shards on other silos.</summary>
    [Benchmark]
    public int EncodePerShard()
    {
        var bytes = 0;
        foreach (var slice in _byShard)
        {
            bytes += ItemDeltaCodec.Encode(slice).Length;
        }

        return bytes;
    }

    /// <summary>What the receiving shards decode.</summary>
    [Benchmark]
    public int DecodePerShard()
    {
        var deltas = 0;
        foreach (var payload in _shardPayloads)
        {
            deltas += ItemDeltaCodec.Decode(payload).Length;
        }

        return deltas;
    }
}
