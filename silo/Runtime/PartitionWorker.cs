using System.Text;
using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Runtime;

/// <summary>
/// Owns one partition of the events topic while this silo holds it: the partition's user grains, applied one
/// turn at a time in log order, and its checkpoints. Everything that touches the grains (records, queries,
/// checkpoints, stop) goes through one inbox read by one loop, so grain code needs no locks and a query sees
/// every record queued before it.
/// </summary>
/// <remarks>
/// Invariant: the stored state of every grain of the partition equals the effect of offsets &lt;
/// stored next_offset, and every grain not in <see cref="_dirty"/> equals its stored state. Grains are loaded
/// on first use; a grain not in memory is therefore exactly its stored row.
/// </remarks>
internal sealed class PartitionWorker
{
    internal const string UserGrainKind = "user";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Channel<WorkItem> _inbox = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, UserGrain> _grains = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly List<Task> _pendingDeadLetters = [];
    private readonly GrainStore _store;
    private readonly DeadLetters _deadLetters;
    private readonly UserGrainOptions _grainOptions;
    private readonly SiloStats _stats;
    private readonly ILogger _logger;
    private readonly ITimer _checkpointTimer;
    private readonly Task _loop;
    private long _nextOffset;
    private long _storedOffset;
    private int _queuedRecords;
    private bool _fenced;

    public PartitionWorker(
        TopicPartition partition,
        PartitionClaim claim,
        GrainStore store,
        DeadLetters deadLetters,
        UserGrainOptions grainOptions,
        TimeSpan checkpointInterval,
        TimeProvider time,
        SiloStats stats,
        ILogger logger)
    {
        Partition = partition;
        Epoch = claim.Epoch;
        _nextOffset = claim.NextOffset;
        _storedOffset = claim.NextOffset;
        _store = store;
        _deadLetters = deadLetters;
        _grainOptions = grainOptions;
        _stats = stats;
        _logger = logger;
        _checkpointTimer = time.CreateTimer(_ => _inbox.Writer.TryWrite(CheckpointTick.Instance), null, checkpointInterval, checkpointInterval);
        _loop = Task.Run(RunAsync);
    }

    public TopicPartition Partition { get; }

    public long Epoch { get; }

    /// <summary>The next offset to apply (the consumer's resume position for this partition).</summary>
    public long NextOffset => Interlocked.Read(ref _nextOffset);

    /// <summary>Records handed over and not yet applied; the runtime pauses fetching above a high-water mark.</summary>
    public int QueuedRecords => Volatile.Read(ref _queuedRecords);

    public bool IsFenced => Volatile.Read(ref _fenced);

    public int ActiveGrains { get; private set; }

    public DateTimeOffset? LastCheckpointAt { get; private set; }

    /// <summary>Hands over one consumed record (called by the consume loop, in offset order).</summary>
    public void Post(ConsumeResult<byte[]?, byte[]?> record)
    {
        Interlocked.Increment(ref _queuedRecords);
        if (!_inbox.Writer.TryWrite(new RecordItem(record)))
        {
            Interlocked.Decrement(ref _queuedRecords);
        }
    }

    /// <summary>Reads a user's history in the grain's turn.</summary>
    public Task<UserQueryResult> QueryUserAsync(string userId)
    {
        var item = new QueryItem(userId);
        return _inbox.Writer.TryWrite(item) ? item.Result.Task : Task.FromResult(UserQueryResult.NotOwner);
    }

    /// <summary>Applies what is queued, writes a final checkpoint and stops. Used on revocation and shutdown.</summary>
    public async Task StopAsync()
    {
        var item = new StopItem();
        if (_inbox.Writer.TryWrite(item))
        {
            await item.Done.Task.ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(false);
        await _checkpointTimer.DisposeAsync().ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        try
        {
            await RunLoopAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a bug here must be loud, and must not take the process down with it
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogCritical(ex, "The worker of {Partition} failed; the partition stops here and resumes from its last checkpoint on its next owner", Partition);
            Volatile.Write(ref _fenced, true);
            _inbox.Writer.TryComplete();
        }
    }

    private async Task RunLoopAsync()
    {
        await foreach (var item in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            switch (item)
            {
                case RecordItem record:
                    Interlocked.Decrement(ref _queuedRecords);
                    if (!_fenced)
                    {
                        await ApplyAsync(record.Record).ConfigureAwait(false);
                    }

                    break;
                case QueryItem query:
                    try
                    {
                        if (_fenced)
                        {
                            query.Result.TrySetResult(UserQueryResult.NotOwner);
                            break;
                        }

                        var grain = await ActivateAsync(query.UserId, create: false).ConfigureAwait(false);
                        query.Result.TrySetResult(new UserQueryResult(true, grain?.GetHistory()));
                    }
#pragma warning disable CA1031 // a failed query must fail its caller, never the partition's loop
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        query.Result.TrySetException(ex);
                    }

                    break;
                case CheckpointTick:
                    await CheckpointAsync(final: false).ConfigureAwait(false);
                    break;
                case StopItem stop:
                    await CheckpointAsync(final: true).ConfigureAwait(false);
                    _inbox.Writer.TryComplete();
                    stop.Done.TrySetResult();
                    break;
            }
        }

        // Anything still queued after stop (queries that raced with it) gets an answer: not here any more.
        while (_inbox.Reader.TryRead(out var left))
        {
            if (left is QueryItem q)
            {
                q.Result.TrySetResult(UserQueryResult.NotOwner);
            }
        }
    }

    private async Task ApplyAsync(ConsumeResult<byte[]?, byte[]?> record)
    {
        var offset = record.Offset.Value;
        if (offset < _nextOffset)
        {
            return; // already reflected in the state (a redelivery after a seek)
        }

        _stats.OnConsumed();
        var error = Validate(record, out var evt);
        if (error is not null)
        {
            _stats.OnInvalid();
            _logger.LogWarning("Dead-lettering {Topic}[{Partition}]@{Offset}: {Reason}", record.Topic, record.Partition.Value, offset, error);
            _pendingDeadLetters.Add(_deadLetters.SendAsync(record, error));
        }
        else
        {
            var grain = (await ActivateAsync(evt!.UserId, create: true).ConfigureAwait(false))!;
            grain.Apply(evt);
            _dirty.Add(evt.UserId);
            _stats.OnApplied();
        }

        Interlocked.Exchange(ref _nextOffset, offset + 1);
    }

    private static string? Validate(ConsumeResult<byte[]?, byte[]?> record, out ClickEvent? evt)
    {
        evt = null;
        if (record.Message.Value is null)
        {
            return "record has no value";
        }

        if (!EventSchema.TryParse(record.Message.Value, out evt, out var error))
        {
            return error;
        }

        string? key;
        try
        {
            key = record.Message.Key is null ? null : StrictUtf8.GetString(record.Message.Key);
        }
        catch (DecoderFallbackException)
        {
            key = null;
        }

        // The key decides the partition, and the partition decides which silo owns the user. A record keyed by
        // anything but its userId would be applied on a silo that does not own that user.
        if (!string.Equals(key, evt.UserId, StringComparison.Ordinal))
        {
            evt = null;
            return "record key must be the event's userId (UTF-8), so the event lands on its user's partition";
        }

        return null;
    }

    private async Task<UserGrain?> ActivateAsync(string userId, bool create)
    {
        if (_grains.TryGetValue(userId, out var grain))
        {
            return grain;
        }

        // Records wait for the database (the partition pauses, it never skips); a query fails fast instead.
        var stored = create
            ? await WithRetryAsync(() => _store.LoadGrainAsync(UserGrainKind, userId, CancellationToken.None), $"load of user grain '{userId}'").ConfigureAwait(false)
            : await _store.LoadGrainAsync(UserGrainKind, userId, CancellationToken.None).ConfigureAwait(false);
        if (stored is null && !create)
        {
            return null;
        }

        grain = new UserGrain(userId, _grainOptions, stored is null ? null : UserGrainStateCodec.Decode(stored));
        _grains.Add(userId, grain);
        ActiveGrains = _grains.Count;
        _stats.OnActivation();
        return grain;
    }

    private async Task<T> WithRetryAsync<T>(Func<Task<T>> action, string what)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not PartitionFencedException)
            {
                var delay = Backoff(attempt);
                _logger.LogWarning(ex, "{What} for {Partition} failed (attempt {Attempt}); retrying in {Delay}", what, Partition, attempt, delay);
                await Task.Delay(delay).ConfigureAwait(false);
            }
        }
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(2_000, 50 * (1 << Math.Min(attempt, 6))));

    private async Task CheckpointAsync(bool final)
    {
        if (_fenced)
        {
            return;
        }

        if (_dirty.Count == 0 && _nextOffset == _storedOffset && _pendingDeadLetters.Count == 0)
        {
            if (final)
            {
                _logger.LogInformation("Final checkpoint of {Partition}: already stored at offset {Offset}", Partition, _storedOffset);
            }

            return;
        }

        // Dead letters first: the checkpoint moves past their records only once Kafka holds them.
        if (_pendingDeadLetters.Count > 0)
        {
            await Task.WhenAll(_pendingDeadLetters).ConfigureAwait(false);
            _pendingDeadLetters.Clear();
        }

        var writes = new List<GrainWrite>(_dirty.Count);
        foreach (var key in _dirty)
        {
            writes.Add(new GrainWrite(UserGrainKind, key, UserGrainStateCodec.Encode(_grains[key].State)));
        }

        try
        {
            await WithRetryAsync(
                async () =>
                {
                    await _store.CheckpointAsync(Partition.Topic, Partition.Partition.Value, Epoch, _nextOffset, writes, CancellationToken.None).ConfigureAwait(false);
                    return true;
                },
                "checkpoint").ConfigureAwait(false);
        }
        catch (PartitionFencedException ex)
        {
            // Another silo owns the partition now. Drop everything: its owner replays from the last
            // checkpoint, so nothing is lost, and nothing of ours can be written twice.
            _stats.OnFencingViolation();
            _logger.LogError(ex, "Fenced out of {Partition}; dropping its in-memory state", Partition);
            Volatile.Write(ref _fenced, true);
            _grains.Clear();
            _dirty.Clear();
            return;
        }

        _dirty.Clear();
        _storedOffset = _nextOffset;
        LastCheckpointAt = DateTimeOffset.UtcNow;
        _stats.OnCheckpoint();
        if (final)
        {
            _logger.LogInformation("Final checkpoint of {Partition} at offset {Offset}", Partition, _nextOffset);
        }
    }

    private abstract record WorkItem;

    private sealed record RecordItem(ConsumeResult<byte[]?, byte[]?> Record) : WorkItem;

    private sealed record QueryItem(string UserId) : WorkItem
    {
        public TaskCompletionSource<UserQueryResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record CheckpointTick : WorkItem
    {
        public static readonly CheckpointTick Instance = new();
    }

    private sealed record StopItem : WorkItem
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The answer to a grain query: whether this silo still owns the partition, and the history (null for a
/// user with no state).</summary>
internal readonly record struct UserQueryResult(bool Owned, UserHistory? History)
{
    public static readonly UserQueryResult NotOwner = new(false, null);
}
