using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;

namespace RecoCluster.Silo.Ingress;

/// <summary>
/// The Kafka readers of this silo's ingress grains: one consumer for every events partition the silo reads, on a
/// thread of its own, handing each partition's records to its <see cref="PartitionReader"/>. A reader normally stops
/// with its grain; the rest stop with the silo's services (a silo killed in-process, as the test cluster does,
/// deactivates nothing).
/// </summary>
/// <remarks>
/// Why a thread: librdkafka's <c>Consume</c> blocks, and a grain turn must not. Why no consumer group: a
/// partition's position lives in the checkpoint store with the state it produced, and which silo reads which
/// partition is Orleans' placement of the ingress grain; a group would be a second, competing membership, so
/// partitions are assigned one by one as their ingresses start and stop.
/// Why one consumer for all of them: a librdkafka client has its own threads, connections and fetch requests, and
/// its own prefetch queue. With a client per partition, a silo reading 32 partitions ran about 200 threads (about
/// 50 with one client), fetched 32 times where once would do, and its clients' prefetch (up to 16 MiB each, in
/// native memory no budget counts) could reach half of a 1 GiB pod (docs/benchmarks.md, "Ingest against silos").
/// One client holds one queue, sized from the memory the runtime may use
/// (<see cref="IngressMemoryBudget.PrefetchKilobytes"/>).
/// </remarks>
public sealed partial class PartitionReaders : IDisposable
{
    private readonly KafkaOptions _kafka;
    private readonly IngressMemoryBudget _budget;
    private readonly KafkaStatistics _statistics;
    private readonly ILogger<PartitionReaders> _logger;
    // Guards starting and stopping readers (the consumer's assignment and the map change together); the consumer's
    // thread only looks readers up.
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<int, PartitionReader> _readers = new();
    private readonly CancellationTokenSource _stop = new();
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private Thread? _thread;
    private string? _clientName;
    private volatile bool _disposed;

    public PartitionReaders(IOptions<KafkaOptions> kafka, IngressMemoryBudget budget, KafkaStatistics statistics, ILogger<PartitionReaders> logger)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        _kafka = kafka.Value;
        _budget = budget;
        _statistics = statistics;
        _logger = logger;
    }

    /// <summary>How many readers are running on this silo.</summary>
    public int Count => _readers.Count;

    /// <summary>Starts reading <paramref name="partition"/> of the events topic at <paramref name="startOffset"/>
    /// (the log's start if negative), holding at most <paramref name="capacity"/> records, and at first at most
    /// <paramref name="limit"/> (<see cref="PartitionReader.Limit"/>, which moves while it runs). A reader of the same
    /// partition still running on this silo is stopped first: only one may hold its records.</summary>
    public PartitionReader Start(int partition, long startOffset, int capacity, int limit)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var consumer = _consumer ?? StartConsumer();
            if (_readers.TryGetValue(partition, out var running))
            {
                StopLocked(running);
            }

            var topicPartition = new TopicPartition(_kafka.Topics.Events, partition);
            var reader = new PartitionReader(this, topicPartition, startOffset, capacity, limit);
            // In the map before it is assigned, so that its first records find it.
            _readers[partition] = reader;
            try
            {
                consumer.IncrementalAssign([At(topicPartition, startOffset)]);
            }
            catch
            {
                _readers.TryRemove(partition, out _);
                throw;
            }

            return reader;
        }
    }

    /// <summary>Stops a reader: its partition is no longer read on this silo, and its buffer ends with what it
    /// holds.</summary>
    public void Stop(PartitionReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        lock (_gate)
        {
            StopLocked(reader);
        }
    }

    // Puts a partition back on the consumer at an offset; librdkafka dropped what it held of it when it came off, so
    // what arrives comes from there. False if the consumer refused (the reader tries again when next asked).
    internal bool TryAssign(TopicPartition partition, long offset)
    {
        try
        {
            Consumer.IncrementalAssign([At(partition, offset)]);
            return true;
        }
        catch (KafkaException e)
        {
            LogKafkaError(e.Error.Reason);
            return false;
        }
    }

    private static TopicPartitionOffset At(TopicPartition partition, long offset) =>
        new(partition, offset >= 0 ? new Offset(offset) : Offset.Beginning);

    // Takes a partition off the consumer; librdkafka drops what it had fetched of it.
    internal void Unassign(TopicPartition partition)
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            Consumer.IncrementalUnassign([partition]);
        }
        catch (KafkaException e)
        {
            LogKafkaError(e.Error.Reason);
        }
    }

    internal (long Start, long End) QueryLog(TopicPartition partition, TimeSpan timeout)
    {
        var offsets = Consumer.QueryWatermarkOffsets(partition, timeout);
        return (offsets.Low.Value, offsets.High.Value);
    }

    internal long HighWatermark(TopicPartition partition)
    {
        try
        {
            return Consumer.GetWatermarkOffsets(partition).High.Value;
        }
        catch (Exception e) when (e is KafkaException or ObjectDisposedException)
        {
            return -1;
        }
    }

    private IConsumer<byte[]?, byte[]?> Consumer => _consumer ?? throw new InvalidOperationException("no reader has started");

    private void StopLocked(PartitionReader reader)
    {
        // Only if it is still the partition's reader (a replaced one is no longer in the map).
        _readers.TryRemove(KeyValuePair.Create(reader.Partition.Partition.Value, reader));
        reader.Complete();
    }

    private IConsumer<byte[]?, byte[]?> StartConsumer()
    {
        var config = KafkaClientSettings.Consumer(_kafka, $"{_kafka.TopicPrefix}.ingress", "ingress");
        // An idle partition answers a fetch only when this wait ends, so it bounds how long a lone event waits.
        config.FetchWaitMaxMs = 20;
        // The one prefetch queue of the silo, and no single fetch larger than it (librdkafka may pass the queue's
        // bound by one fetch).
        config.QueuedMaxMessagesKbytes = _budget.PrefetchKilobytes;
        config.FetchMaxBytes = _budget.PrefetchKilobytes * 1024;
        // A position outside the log is an error, never a silent jump to its start: a stored position past the end
        // means the log was reset (or the database belongs to another Kafka), and reading from the start would
        // cut batches the grains have already stored, and drop every new event as a replay.
        config.AutoOffsetReset = AutoOffsetReset.Error;
        var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => LogKafkaError(e.Reason))
            .SetStatisticsHandler((_, json) => _statistics.Record(json))
            .Build();
        // Read now: a closed consumer's handle no longer has a name.
        _clientName = consumer.Name;
        _consumer = consumer;
        _thread = new Thread(() => Run(consumer)) { IsBackground = true, Name = "ingress-reader" };
        _thread.Start();
        return consumer;
    }

    private void Run(IConsumer<byte[]?, byte[]?> consumer)
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            ConsumeResult<byte[]?, byte[]?>? record;
            try
            {
                record = consumer.Consume(100);
            }
            catch (ConsumeException e) when (e.Error.Code is Confluent.Kafka.ErrorCode.Local_AutoOffsetReset or Confluent.Kafka.ErrorCode.OffsetOutOfRange)
            {
                var partition = e.ConsumerRecord?.Partition.Value ?? -1;
                LogOutOfRange(partition, e.Error.Reason);
                if (_readers.TryGetValue(partition, out var failed))
                {
                    failed.Fail(e.Error.Reason);
                }

                continue;
            }
            catch (ConsumeException e)
            {
                LogKafkaError(e.Error.Reason);
                continue;
            }

            if (record is null || record.IsPartitionEOF)
            {
                continue;
            }

            // A record of a partition stopped meanwhile has no reader: its next reader reads it again from its
            // own start.
            if (_readers.TryGetValue(record.Partition.Value, out var reader))
            {
                reader.Hold(record);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            foreach (var reader in _readers.Values)
            {
                StopLocked(reader);
            }

            _disposed = true;
        }

        _stop.Cancel();
        if (_thread is { } thread && Thread.CurrentThread != thread)
        {
            thread.Join();
        }

        if (_consumer is { } consumer)
        {
            consumer.Close();
            consumer.Dispose();
            _statistics.Forget(_clientName!);
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Events partition {Partition}: the start position is outside the log ({Reason}); nothing more is read from it")]
    private partial void LogOutOfRange(int partition, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka error while reading events: {Reason}")]
    private partial void LogKafkaError(string reason);
}
