using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Grains;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Runtime;

/// <summary>
/// A silo's membership in the cluster: one consumer-group member on the events topic. Kafka's group protocol
/// decides which partitions this silo owns; for each one the runtime claims it in the store (fencing older
/// owners), loads where its state is consistent to, seeks there and starts a <see cref="PartitionWorker"/>.
/// On revocation it lets the worker finish and checkpoint before Kafka hands the partition to another silo.
/// </summary>
/// <remarks>
/// Threading: librdkafka calls the rebalance handlers from inside <c>Consume</c>, so all group bookkeeping
/// happens on the one consume thread; workers run their own loops. The directory entry is published from the
/// consume thread too, so the entry never lists a partition that is not loaded.
/// </remarks>
public sealed class SiloRuntime : IHostedService, IDisposable
{
    private readonly KafkaOptions _kafka;
    private readonly SiloOptions _options;
    private readonly DirectoryOptions _directoryOptions;
    private readonly UserGrainOptions _grainOptions;
    private readonly GrainStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<SiloRuntime> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<int, PartitionWorker> _workers = new();
    private readonly HashSet<int> _paused = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IProducer<byte[]?, byte[]?>? _producer;
    private DeadLetters? _deadLetters;
    private Thread? _thread;
    private long _changedAtMs;
    private long _lastHeartbeatMs;

    public SiloRuntime(
        IOptions<KafkaOptions> kafka,
        IOptions<SiloOptions> options,
        IOptions<DirectoryOptions> directoryOptions,
        IOptions<UserGrainOptions> grainOptions,
        GrainStore store,
        SiloStats stats,
        SiloEndpointAddress address,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(directoryOptions);
        ArgumentNullException.ThrowIfNull(grainOptions);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _kafka = kafka.Value;
        _options = options.Value;
        _directoryOptions = directoryOptions.Value;
        _grainOptions = grainOptions.Value;
        _store = store;
        Stats = stats;
        Address = address;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<SiloRuntime>();
        SiloId = string.IsNullOrWhiteSpace(_options.Id) ? $"silo-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}" : _options.Id;
    }

    public string SiloId { get; }

    public SiloStats Stats { get; }

    public SiloEndpointAddress Address { get; }

    /// <summary>The events topic's partition count (0 until known).</summary>
    public int PartitionCount { get; private set; }

    /// <summary>True once the silo is in the group with every assigned partition loaded.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Partitions owned and loaded, ascending.</summary>
    public int[] OwnedPartitions => [.. _workers.Keys.Order()];

    internal bool TryGetWorker(int partition, out PartitionWorker worker) => _workers.TryGetValue(partition, out worker!);

    internal IEnumerable<PartitionWorker> Workers => _workers.Values;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        _producer = new ProducerBuilder<byte[]?, byte[]?>(KafkaClientSettings.ReliableProducer(_kafka, SiloId))
            .SetLogHandler((_, m) => _logger.LogDebug("librdkafka producer: {Message}", m.Message))
            .Build();
        _deadLetters = new DeadLetters(_producer, _kafka.Topics.DeadLetters);
        PartitionCount = await Task.Run(ReadPartitionCount, cancellationToken).ConfigureAwait(false);
        _thread = new Thread(ConsumeLoop) { IsBackground = true, Name = "reco-silo-consumer" };
        _thread.Start();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_thread is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _stopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _producer?.Dispose();
        _stopping.Dispose();
    }

    private int ReadPartitionCount()
    {
        using var admin = new DependentAdminClientBuilder(_producer!.Handle).Build();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var metadata = admin.GetMetadata(_kafka.Topics.Events, TimeSpan.FromSeconds(5));
            var topic = metadata.Topics.FirstOrDefault(t => t.Topic == _kafka.Topics.Events);
            if (topic is not null && topic.Error.Code == ErrorCode.NoError && topic.Partitions.Count > 0)
            {
                return topic.Partitions.Count;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"topic '{_kafka.Topics.Events}' does not exist on {_kafka.BootstrapServers}: {topic?.Error.Reason ?? "no metadata"}");
            }

            Thread.Sleep(250);
        }
    }

    private void ConsumeLoop()
    {
        try
        {
            using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaClientSettings.Consumer(_kafka, _kafka.EffectiveGroupId, SiloId))
                .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
                .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions, lost: false))
                .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions, lost: true))
                .SetErrorHandler((_, e) => _logger.LogWarning("Kafka: {Reason}", e.Reason))
                .SetLogHandler((_, m) => _logger.LogDebug("librdkafka: {Message}", m.Message))
                .Build();
            consumer.Subscribe(_kafka.Topics.Events);
            PublishDirectory(force: true);
            while (!_stopping.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (record is { IsPartitionEOF: false, Message: not null })
                {
                    if (_workers.TryGetValue(record.Partition.Value, out var worker))
                    {
                        worker.Post(record);
                    }
                }

                IsReady = consumer.Assignment.Count == _workers.Count;
                ApplyBackpressure(consumer);
                PublishDirectory(force: false);
            }

            // Close leaves the group: the revoked handler runs for every partition (final checkpoints), and
            // the group rebalances at once instead of after the session timeout.
            consumer.Close();
            PublishTombstone();
        }
#pragma warning disable CA1031 // the reason must reach the log; the host then stops with the silo
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogCritical(ex, "The silo's consume loop failed");
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    // Pause a partition whose worker has fallen behind (a slow or absent database) and resume it once it has
    // drained: the backlog stays in Kafka, memory stays bounded, and no record is skipped because the consumer
    // resumes from its position, the offset after the last record it handed over.
    private void ApplyBackpressure(IConsumer<byte[]?, byte[]?> consumer)
    {
        var high = _options.MaxQueuedRecordsPerPartition;
        foreach (var (partition, worker) in _workers)
        {
            var queued = worker.QueuedRecords;
            if (queued >= high && _paused.Add(partition))
            {
                consumer.Pause([worker.Partition]);
                _logger.LogInformation("Paused {Partition}: {Queued} records queued", worker.Partition, queued);
            }
            else if (queued <= high / 2 && _paused.Remove(partition))
            {
                consumer.Resume([worker.Partition]);
                _logger.LogInformation("Resumed {Partition}", worker.Partition);
            }
        }
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(List<TopicPartition> partitions)
    {
        var result = new List<TopicPartitionOffset>(partitions.Count);
        foreach (var tp in partitions)
        {
            var claim = ClaimWithRetry(tp);
            var worker = new PartitionWorker(
                tp,
                claim,
                _store,
                _deadLetters!,
                _grainOptions,
                TimeSpan.FromMilliseconds(_options.CheckpointIntervalMs),
                _time,
                Stats,
                _loggerFactory.CreateLogger<PartitionWorker>());
            _workers[tp.Partition.Value] = worker;
            var start = claim.NextOffset >= 0 ? new Offset(claim.NextOffset) : Offset.Beginning;
            result.Add(new TopicPartitionOffset(tp, start));
            _logger.LogInformation("Assigned {Partition}: epoch {Epoch}, resuming at {Offset}", tp, claim.Epoch, start);
        }

        MarkChanged();
        return result;
    }

    private void OnRevoked(List<TopicPartitionOffset> partitions, bool lost)
    {
        var stopping = new List<Task>();
        foreach (var tpo in partitions)
        {
            if (_workers.TryRemove(tpo.Partition.Value, out var worker))
            {
                _paused.Remove(tpo.Partition.Value);
                // Lost or revoked, a final checkpoint is safe: if another silo already claimed the partition the
                // fence refuses it, and if not, the next owner starts from it.
                stopping.Add(worker.StopAsync());
            }
        }

        Task.WaitAll(stopping);
        _logger.LogInformation("{What} {Partitions}", lost ? "Lost" : "Revoked", string.Join(", ", partitions.Select(p => p.TopicPartition.ToString())));
        MarkChanged();
    }

    private PartitionClaim ClaimWithRetry(TopicPartition tp)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return _store.ClaimAsync(tp.Topic, tp.Partition.Value, SiloId, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !_stopping.IsCancellationRequested)
            {
                _logger.LogWarning(ex, "Claiming {Partition} failed (attempt {Attempt}); retrying", tp, attempt);
                Thread.Sleep(Math.Min(2_000, 100 * attempt));
            }
        }
    }

    private void MarkChanged()
    {
        _changedAtMs = Math.Max(_changedAtMs + 1, _time.GetUtcNow().ToUnixTimeMilliseconds());
        PublishDirectory(force: true);
    }

    private void PublishDirectory(bool force)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!force && now - _lastHeartbeatMs < _directoryOptions.HeartbeatMs)
        {
            return;
        }

        var endpoint = Address.Url;
        if (endpoint is null)
        {
            return; // Kestrel has not bound yet; the next heartbeat publishes.
        }

        _lastHeartbeatMs = now;
        var entry = new SiloDirectoryEntry(SiloId, endpoint, OwnedPartitions, PartitionCount, _changedAtMs, now);
        _producer!.Produce(_kafka.Topics.Directory, new Message<byte[]?, byte[]?>
        {
            Key = System.Text.Encoding.UTF8.GetBytes(SiloId),
            Value = DirectoryCodec.Encode(entry),
        }, report =>
        {
            if (report.Error.IsError)
            {
                _logger.LogWarning("Publishing the directory entry failed: {Reason}", report.Error.Reason);
            }
        });
    }

    private void PublishTombstone()
    {
        try
        {
            _producer!.Produce(_kafka.Topics.Directory, new Message<byte[]?, byte[]?> { Key = System.Text.Encoding.UTF8.GetBytes(SiloId), Value = null });
            _producer.Flush(TimeSpan.FromSeconds(5));
        }
        catch (KafkaException ex)
        {
            _logger.LogWarning(ex, "Could not publish the directory tombstone; the entry expires on its own");
        }
    }
}

/// <summary>The URL this silo's internal endpoint is reachable at, known once Kestrel has bound.</summary>
public sealed class SiloEndpointAddress
{
    private volatile string? _url;

    public string? Url => _url;

    public void Set(string url) => _url = url.TrimEnd('/');
}
