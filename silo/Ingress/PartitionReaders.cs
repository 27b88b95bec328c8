using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;

namespace RecoCluster.Silo.Ingress;

/// <summary>The Kafka readers of this silo's ingress grains. A reader normally stops with its grain; the rest stop
/// with the silo's services (a silo killed in-process, as the test cluster does, deactivates nothing).</summary>
public sealed class PartitionReaders(ILoggerFactory loggers, KafkaStatistics statistics) : IDisposable
{
    private readonly ConcurrentDictionary<PartitionReader, byte> _running = new();

    /// <summary>How many readers are running on this silo.</summary>
    public int Count => _running.Count;

    public PartitionReader Start(KafkaOptions kafka, int partition, long startOffset, int capacity, int limit)
    {
        var reader = new PartitionReader(kafka, partition, startOffset, capacity, limit, statistics, loggers.CreateLogger<PartitionReader>());
        _running[reader] = 0;
        return reader;
    }

    public void Stop(PartitionReader reader)
    {
        if (_running.TryRemove(reader, out _))
        {
            reader.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var reader in _running.Keys)
        {
            Stop(reader);
        }
    }
}
