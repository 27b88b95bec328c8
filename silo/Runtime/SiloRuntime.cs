using RecoCluster.Silo.Ingress;
using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Runtime;

/// <summary>
/// A silo's membership in the cluster: one consumer-group member on the events and item-deltas topics. Kafka's group protocol
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
    private readonly NeighborhoodOptions _neighborhoodOptions;
    private readonly GrainStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<SiloRuntime> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<TopicPartition, PartitionWorker> _workers = new();
    private readonly HashSet<TopicPartition> _paused = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IProducer<byte[]?, byte[]?>? _producer;
    private WorkerContext? _context;
    private Thread? _thread;
    private NeighborhoodBatchGrain? _batchGrain;
    private int _assignmentCallbacks;
    private long _watermarksReadAt;
    private long _readinessCheckedAt;
    private int _rebalances;
    private int _rebalancesAtReadinessCheck = -1;
    private long _changedAtMs;
    private long _lastHeartbeatMs;

    public SiloRuntime(
        IOptions<KafkaOptions> kafka,
        IOptions<SiloOptions> options,
        IOptions<DirectoryOptions> directoryOptions,
        IOptions<UserGrainOptions> grainOptions,
        IOptions<NeighborhoodOptions> neighborhoodOptions,
        GrainStore store,
        SnapshotHolder snapshots,
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
        _neighborhoodOptions = neighborhoodOptions.Value;
        _store = store;
        Snapshots = snapshots;
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

    /// <summary>The snapshot this silo serves.</summary>
    public SnapshotHolder Snapshots { get; }

    /// <summary>The batch grain, while this silo owns the control partition; otherwise null.</summary>
    public NeighborhoodBatchGrain? BatchGrain => Volatile.Read(ref _batchGrain);

    /// <summary>The events topic's partition count (0 until known).</summary>
    public int PartitionCount { get; private set; }

    /// <summary>True once the silo is in the group with every assigned partition loaded.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Partitions of the events topic owned and loaded (users), ascending.</summary>
    public int[] OwnedPartitions => Owned(_kafka.Topics.Events);

    /// <summary>Partitions of the item-deltas topic owned and loaded (items), ascending.</summary>
    public int[] OwnedItemPartitions => Owned(_kafka.Topics.ItemDeltas);

    internal IEnumerable<PartitionWorker> Workers => _workers.Values;

    internal bool TryGetUserWorker(int partition, out UserPartitionWorker worker)
    {
        var found = _workers.TryGetValue(new TopicPartition(_kafka.Topics.Events, partition), out var w);
        worker = (w as UserPartitionWorker)!;
        return found;
    }

    internal bool TryGetItemWorker(int partition, out ItemPartitionWorker worker)
    {
        var found = _workers.TryGetValue(new TopicPartition(_kafka.Topics.ItemDeltas, partition), out var w);
        worker = (w as ItemPartitionWorker)!;
        return found;
    }

    private int[] Owned(string topic) => [.. _workers.Keys.Where(tp => tp.Topic == topic).Select(tp => tp.Partition.Value).Order()];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        _producer = new ProducerBuilder<byte[]?, byte[]?>(KafkaClientSettings.ReliableProducer(_kafka, SiloId))
            .SetLogHandler((_, m) => _logger.LogDebug("librdkafka producer: {Message}", m.Message))
            .Build();
        PartitionCount = await Task.Run(ReadPartitionCount, cancellationToken).ConfigureAwait(false);
        _context = new WorkerContext(_store, _producer, new DeadLetters(_producer, _kafka.Topics.DeadLetters), _options, PartitionCount, _time, Stats, _loggerFactory, Snapshots, _grainOptions.Factors.InitScale);
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
        try
        {
            await _stopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout passed. Nothing is lost: whatever was not checkpointed is read again by
            // the partitions' next owners. Said here rather than thrown, which would end the host with an error.
            _logger.LogWarning("The silo did not finish stopping within the host's shutdown timeout; its partitions' next owners replay from their last checkpoints");
        }
    }

    public void Dispose()
    {
        _producer?.Dispose();
        _stopping.Dispose();
    }

    // The item side is keyed by item with the same partitioner and partition count, so a silo can compute an
    // item's partition without asking; different counts would misroute, so they stop the silo at start-up.
    private int ReadPartitionCount()
    {
        using var admin = new DependentAdminClientBuilder(_producer!.Handle).Build();
        var events = CountPartitions(admin, _kafka.Topics.Events);
        var items = CountPartitions(admin, _kafka.Topics.ItemDeltas);
        if (events != items)
        {
            throw new InvalidOperationException($"topic '{_kafka.Topics.ItemDeltas}' has {items} partitions but '{_kafka.Topics.Events}' has {events}; they must be equal.");
        }

        return events;
    }

    private int CountPartitions(IAdminClient admin, string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var metadata = admin.GetMetadata(name, TimeSpan.FromSeconds(5));
            var topic = metadata.Topics.FirstOrDefault(t => t.Topic == name);
            if (topic is not null && topic.Error.Code == Confluent.Kafka.ErrorCode.NoError && topic.Partitions.Count > 0)
            {
                return topic.Partitions.Count;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"topic '{name}' does not exist on {_kafka.BootstrapServers}: {topic?.Error.Reason ?? "no metadata"}");
            }

            Thread.Sleep(250);
        }
    }

    private void ConsumeLoop()
    {
        IConsumer<byte[]?, byte[]?>? consumer = null;
        try
        {
            consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaClientSettings.Consumer(_kafka, _kafka.EffectiveGroupId, SiloId))
                .SetPartitionsAssignedHandler((_, partitions) =>
                {
                    _rebalances++;
                    return OnAssigned(partitions);
                })
                .SetPartitionsRevokedHandler((_, partitions) =>
                {
                    _rebalances++;
                    OnRevoked(partitions, lost: false);
                })
                .SetPartitionsLostHandler((_, partitions) =>
                {
                    _rebalances++;
                    OnRevoked(partitions, lost: true);
                })
                .SetErrorHandler((_, e) => _logger.LogWarning("Kafka: {Reason}", e.Reason))
                .SetLogHandler((_, m) => LogFromLibrdkafka(m))
                .Build();
            // The control topic's one partition decides which silo hosts the batch grain; nothing is read from it.
            consumer.Subscribe([_kafka.Topics.Events, _kafka.Topics.ItemDeltas, _kafka.Topics.Control]);
            PublishDirectory(force: true);
            while (!_stopping.IsCancellationRequested)
            {
                Poll(consumer);
            }

            // Close leaves the group: the revoked handler runs for every owned partition (final checkpoints) and
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
            consumer?.Dispose();
            _stopped.TrySetResult();
        }
    }

    // librdkafka calls this from its own threads, possibly while the host is shutting down: an exception thrown
    // back into native code would end the process.
    private void LogFromLibrdkafka(LogMessage message)
    {
        try
        {
            _logger.LogDebug("librdkafka: {Message}", message.Message);
        }
#pragma warning disable CA1031 // see above
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void Poll(IConsumer<byte[]?, byte[]?> consumer)
    {
        var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
        if (record is { IsPartitionEOF: false, Message: not null } && _workers.TryGetValue(record.TopicPartition, out var worker))
        {
            worker.Post(record);
        }

        UpdateReadiness(consumer);
        ApplyBackpressure(consumer);
        RefreshWatermarks(consumer);
        PublishDirectory(force: false);
    }

    // Ready once the group has answered (an assignment, even an empty one, always reaches the handler) and every
    // assigned partition has a running worker. Asking the consumer for its assignment builds a new list of every
    // partition, each with its topic name marshalled from native memory: done for every record, it made the
    // consume loop, which hands every record of the silo to its worker, a serial cost of its own. The assignment
    // changes only in the rebalance callbacks, which run on this thread inside Consume, so it is checked after
    // each callback and otherwise every 50 ms, which the readiness probe and the directory cannot tell apart.
    private void UpdateReadiness(IConsumer<byte[]?, byte[]?> consumer)
    {
        var now = Environment.TickCount64;
        if (_rebalances == _rebalancesAtReadinessCheck && now - _readinessCheckedAt < 50)
        {
            return;
        }

        _rebalancesAtReadinessCheck = _rebalances;
        _readinessCheckedAt = now;
        IsReady = Volatile.Read(ref _assignmentCallbacks) > 0 && consumer.Assignment.Count == _workers.Count + (_batchGrain is null ? 0 : 1);
    }

    // The consumer caches each partition's log end offset from its fetch responses; reading it is local and cheap,
    // but once a second is enough for lag.
    private void RefreshWatermarks(IConsumer<byte[]?, byte[]?> consumer)
    {
        var now = Environment.TickCount64;
        if (now - _watermarksReadAt < 1_000)
        {
            return;
        }

        _watermarksReadAt = now;
        foreach (var worker in _workers.Values)
        {
            var offsets = consumer.GetWatermarkOffsets(worker.Partition);
            if (offsets.High != Offset.Unset)
            {
                worker.HighWatermark = offsets.High.Value;
            }
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
                Stats.OnPaused();
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
        Interlocked.Increment(ref _assignmentCallbacks);
        if (_stopping.IsCancellationRequested)
        {
            // Leaving: accept the assignment without claiming or loading anything; Close revokes it at once and
            // the next owner claims the partitions from their checkpoints. Records fetched meanwhile find no
            // worker and are not applied.
            _logger.LogInformation("Assigned {Partitions} while stopping: handing them back", string.Join(", ", partitions));
            return partitions.Select(tp => new TopicPartitionOffset(tp, Offset.Unset));
        }

        var result = new List<TopicPartitionOffset>(partitions.Count);
        foreach (var tp in partitions)
        {
            var claim = ClaimWithRetry(tp);
            if (tp.Topic == _kafka.Topics.Control)
            {
                // The claim bumped the control epoch: from here on, the previous host's batch grain cannot change
                // any round. Nothing is consumed from the topic, so the position is its end.
                var grain = new NeighborhoodBatchGrain(_store, tp.Topic, claim.Epoch, SiloId, () => PartitionCount, _neighborhoodOptions, _time, _loggerFactory.CreateLogger<NeighborhoodBatchGrain>());
                Volatile.Write(ref _batchGrain, grain);
                grain.Start();
                result.Add(new TopicPartitionOffset(tp, Offset.End));
                _logger.LogInformation("Hosting the batch grain (control epoch {Epoch})", claim.Epoch);
                continue;
            }

            PartitionWorker worker = tp.Topic == _kafka.Topics.Events
                ? new UserPartitionWorker(tp, claim, _context!, _grainOptions, _kafka.Topics.ItemDeltas)
                : new ItemPartitionWorker(tp, claim, _context!);
            _workers[tp] = worker;
            worker.Start();
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
            if (tpo.Topic == _kafka.Topics.Control && Interlocked.Exchange(ref _batchGrain, null) is { } grain)
            {
                stopping.Add(grain.DisposeAsync().AsTask());
                continue;
            }

            if (_workers.TryRemove(tpo.TopicPartition, out var worker))
            {
                _paused.Remove(tpo.TopicPartition);
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
                _logger.LogWarning(attempt % 30 == 1 ? ex : null, "Claiming {Partition} failed (attempt {Attempt}: {Reason}); retrying", tp, attempt, ex.Message);
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
        var entry = new SiloDirectoryEntry(SiloId, endpoint, OwnedPartitions, PartitionCount, _changedAtMs, now, OwnedItemPartitions, HostsBatchGrain: _batchGrain is not null);
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
