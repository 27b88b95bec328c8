using System.Text;
using BenchmarkDotNet.Attributes;
using RecoCluster.Cluster;

namespace RecoCluster.Bench.Partitioning;

/// <summary>
/// The gateway runs <see cref="KafkaPartitioner.PartitionFor(string, int)"/> on every request that names a user,
/// to find the owning silo. Per key; the span overload shows how much of that is the UTF-8 transcoding.
/// </summary>
[MemoryDiagnoser]
public class PartitionerBenchmarks
{
    private const int KeyCount = 1_024;

    // The default partition count of the events topic (Reco:Kafka:Partitions).
    private const int PartitionCount = 8;

    private string[] _keys = [];
    private byte[][] _utf8Keys = [];

    // Many keys of a few lengths, not one: murmur2's tail handling depends on length % 4, and a single key would
    // let the branch predictor learn it.
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(8);
        _keys = Enumerable.Range(0, KeyCount).Select(_ => $"u-{random.Next(1, 10_000_000)}").ToArray();
        _utf8Keys = _keys.Select(Encoding.UTF8.GetBytes).ToArray();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = KeyCount)]
    public int PartitionForString()
    {
        var sum = 0;
        foreach (var key in _keys)
        {
            sum += KafkaPartitioner.PartitionFor(key, PartitionCount);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = KeyCount)]
    public int PartitionForUtf8()
    {
        var sum = 0;
        foreach (var key in _utf8Keys)
        {
            sum += KafkaPartitioner.PartitionFor(key, PartitionCount);
        }

        return sum;
    }
}
