using RecoCluster.Silo.Ingress;
using System.Diagnostics;
using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Runtime;

/// <summary>What every partition worker of a silo shares.</summary>
internal sealed record WorkerContext(
    GrainStore Store,
    IProducer<byte[]?, byte[]?> Producer,
    DeadLetters DeadLetters,
    SiloOptions Options,
    int PartitionCount,
    TimeProvider Time,
    SiloStats Stats,
    ILoggerFactory Loggers,
    SnapshotHolder Snapshots,
    float FactorInitScale);

/// <summary>The answer to a query run in a partition's turn: whether this silo still owned the partition, and
/// the value.</summary>
internal readonly record struct QueryResult<T>(bool Owned, T? Value)
{
    public static readonly QueryResult<T> NotOwner = new(false, default);
}

/// <summary>
/// Owns one partition while this silo holds it: its grains, applied one turn at a time in log order, and its
/// checkpoints. Everything that touches the grains (records, queries, timers, stop) goes through one inbox read
/// by one loop, so grain code needs no locks and a query sees every record queued before it. Serving reads
/// (<see cref="ReadAsync{T}"/>) go through the same loop but ahead of the queue.
/// </summary>
/// <remarks>
/// Invariant: the stored state of the partition equals the effect of the offsets below its stored next_offset,
/// and every activated grain that is not dirty equals its stored state. Grains not in memory are therefore
/// exactly their stored rows, which is what makes activation on demand and deactivation when idle safe.
/// </remarks>
internal abstract class PartitionWorker
{
    private readonly Channel<WorkItem> _inbox = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });

    // Serving reads: taken before anything queued in the inbox, and also while a checkpoint commits (see
    // RunLoopAsync and CheckpointAsync), so a storefront's request never waits behind a backlog of records or a
    // database round trip. They see the state as of the last record applied.
    private readonly Channel<WorkItem> _reads = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = false });
    private ITimer? _checkpointTimer;
    private Task _loop = Task.CompletedTask;
    private long _nextOffset;
    private long _storedOffset;
    private int _queuedRecords;
    private long _highWatermark = -1;
    private long _lastCheckpointMs;
    private bool _fenced;
    private long _lastEvictionCheck;
    private long _lastYield;

    // How long a worker applies records before it lets the pool run something else: 2 ms bounds what an HTTP
    // request waits for a thread behind a busy partition, and is long against the cost of one yield.
    private static readonly long YieldAfterTicks = Stopwatch.Frequency / 500;

    // Set by StopAsync before its stop item is queued, so the records queued ahead of it are skipped.
    private bool _stopRequested;

    protected PartitionWorker(TopicPartition partition, PartitionClaim claim, WorkerContext context, ILogger logger)
    {
        Partition = partition;
        Epoch = claim.Epoch;
        _nextOffset = claim.NextOffset;
        _storedOffset = claim.NextOffset;
        Context = context;
        Logger = logger;
        StartedAt = context.Time.GetUtcNow();
    }

    public TopicPartition Partition { get; }

    public long Epoch { get; }

    /// <summary>The next offset to apply (the consumer's resume position for this partition).</summary>
    public long NextOffset => Interlocked.Read(ref _nextOffset);

    /// <summary>The partition's log end offset as the consumer last saw it, or -1 before the first fetch.</summary>
    public long HighWatermark
    {
        get => Interlocked.Read(ref _highWatermark);
        internal set => Interlocked.Exchange(ref _highWatermark, value);
    }

    /// <summary>Records in the log not yet applied (queued ones included), or 0 before the first fetch.</summary>
    public long Lag => HighWatermark < 0 ? 0 : Math.Max(0, HighWatermark - Math.Max(0, NextOffset)); // -1: from the start

    /// <summary>Records handed over and not yet applied; the runtime pauses fetching above a high-water mark.</summary>
    public int QueuedRecords => Volatile.Read(ref _queuedRecords);

    public bool IsFenced => Volatile.Read(ref _fenced);

    public int ActiveGrains { get; protected set; }

    /// <summary>When the last checkpoint committed, or null before the first. Read from other threads (admin view,
    /// metrics), so it is kept as one 64-bit value: a DateTimeOffset? could be read half-written.</summary>
    public DateTimeOffset? LastCheckpointAt
    {
        get
        {
            var ms = Interlocked.Read(ref _lastCheckpointMs);
            return ms == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
    }

    /// <summary>When this silo took the partition over.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>How long applied work has been waiting for a checkpoint: zero when everything applied is stored,
    /// otherwise the time since the last checkpoint (or since take-over). An idle partition is never "old".</summary>
    public TimeSpan UncheckpointedAge =>
        NextOffset > Interlocked.Read(ref _storedOffset) ? Context.Time.GetUtcNow() - (LastCheckpointAt ?? StartedAt) : TimeSpan.Zero;

    protected WorkerContext Context { get; }

    protected ILogger Logger { get; }

    protected long Now => Context.Time.GetTimestamp();

    /// <summary>Starts the loop. Its first turn is <see cref="InitializeAsync"/>.</summary>
    public void Start()
    {
        var interval = TimeSpan.FromMilliseconds(Context.Options.CheckpointIntervalMs);
        // Timers are turns too: the tick is a message, so it never races with a record.
        _checkpointTimer = Context.Time.CreateTimer(_ => _inbox.Writer.TryWrite(CheckpointTick.Instance), null, interval, interval);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Hands over one consumed record (called by the consume loop, in offset order).</summary>
    public void Post(ConsumeResult<byte[]?, byte[]?> record)
    {
        Interlocked.Increment(ref _queuedRecords);
        if (!_inbox.Writer.TryWrite(new RecordItem(record)))
        {
            Interlocked.Decrement(ref _queuedRecords);
        }
    }

    /// <summary>Runs <paramref name="query"/> in the partition's turn, after every record queued before it.</summary>
    public Task<QueryResult<T>> QueryAsync<T>(Func<Task<T>> query)
    {
        var item = new QueryItem<T>(query);
        return _inbox.Writer.TryWrite(item) ? item.Result.Task : Task.FromResult(QueryResult<T>.NotOwner);
    }

    /// <summary>Runs a read-only <paramref name="query"/> in the partition's turn, ahead of queued records and
    /// during checkpoint commits: it sees the state as of the last record applied. For serving, where waiting
    /// behind a backlog would cost more than the few records it may not see yet. The query must not change
    /// grain state (activating a grain from its stored row is fine).</summary>
    public Task<QueryResult<T>> ReadAsync<T>(Func<Task<T>> query)
    {
        var item = new QueryItem<T>(query);
        return _reads.Writer.TryWrite(item) ? item.Result.Task : Task.FromResult(QueryResult<T>.NotOwner);
    }

    /// <summary>Finishes the record in hand, writes a final checkpoint and stops. Used on revocation and shutdown.
    /// Records still queued are dropped, not applied: the checkpoint's offset is the one after the last record
    /// applied, so the next owner reads them again. Applying them first made a stop last as long as the backlog
    /// (up to <c>MaxQueuedRecordsPerPartition</c> records, or shuffle batches, per partition): over 30 s, and
    /// past the host's shutdown timeout, for a silo stopped while 800,000 events behind.</summary>
    public async Task StopAsync()
    {
        Volatile.Write(ref _stopRequested, true);
        var item = new StopItem();
        if (_inbox.Writer.TryWrite(item))
        {
            await item.Done.Task.ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(false);
        if (_checkpointTimer is not null)
        {
            await _checkpointTimer.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The first turn: load what the partition needs beyond its grains.</summary>
    protected virtual Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Applies one record. The base class advances the offset afterwards.</summary>
    protected abstract Task ApplyAsync(ConsumeResult<byte[]?, byte[]?> record);

    /// <summary>Whether anything beyond the offset needs writing.</summary>
    protected abstract bool HasChanges { get; }

    /// <summary>Collects what the checkpoint at <paramref name="nextOffset"/> writes. Called once per checkpoint;
    /// the result is retried as is until it commits.</summary>
    protected abstract Task<Checkpoint> PrepareCheckpointAsync(long nextOffset, bool final);

    /// <summary>After the checkpoint committed: clear dirty marks, start follow-up work.</summary>
    protected abstract Task OnCommittedAsync(Checkpoint checkpoint, bool final);

    /// <summary>Drops all in-memory state after being fenced out.</summary>
    protected abstract void OnFenced();

    /// <summary>Deactivates clean grains not used since <paramref name="usedBefore"/>.</summary>
    protected abstract int EvictIdle(long usedBefore);

    /// <summary>Retries a storage call until it succeeds: the partition waits for the database, it never skips.</summary>
    protected async Task<T> WithRetryAsync<T>(Func<Task<T>> action, string what)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not PartitionFencedException)
            {
                var delay = TimeSpan.FromMilliseconds(Math.Min(2_000, 50 * (1 << Math.Min(attempt, 6))));
                // An outage repeats the same failure many times a second across partitions: the stack trace is
                // logged on the first attempt and every 30th, the reason on every one.
                Logger.LogWarning(
                    attempt % 30 == 1 ? ex : null,
                    "{What} for {Partition} failed (attempt {Attempt}: {Reason}); retrying in {Delay}",
                    what,
                    Partition,
                    attempt,
                    ex.Message,
                    delay);
                await Task.Delay(delay, Context.Time).ConfigureAwait(false);
            }
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await InitializeAsync().ConfigureAwait(false);
            await RunLoopAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a bug here must be loud, and must not take the process down with it
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Logger.LogCritical(ex, "The worker of {Partition} failed; the partition stops here and resumes from its last checkpoint on its next owner", Partition);
            Volatile.Write(ref _fenced, true);
            _inbox.Writer.TryComplete();
        }
        finally
        {
            // Anything still queued (queries that raced with stop) gets an answer: not here any more.
            _reads.Writer.TryComplete();
            while (_inbox.Reader.TryRead(out var left) || _reads.Reader.TryRead(out left))
            {
                (left as IQuery)?.NotOwner();
                (left as StopItem)?.Done.TrySetResult();
            }
        }
    }

    private async Task RunLoopAsync()
    {
        while (true)
        {
            await RunReadsAsync().ConfigureAwait(false);
            if (!_inbox.Reader.TryRead(out var item))
            {
                // Idle: wake on whichever channel gets something first (the allocation happens only when idle).
                var inbox = _inbox.Reader.WaitToReadAsync().AsTask();
                await Task.WhenAny(inbox, _reads.Reader.WaitToReadAsync().AsTask()).ConfigureAwait(false);
                if (inbox.IsCompleted && !await inbox.ConfigureAwait(false))
                {
                    return; // the inbox is complete (stopped) and empty
                }

                continue;
            }

            switch (item)
            {
                case RecordItem record:
                    Interlocked.Decrement(ref _queuedRecords);
                    if (Volatile.Read(ref _stopRequested))
                    {
                        break; // left for the next owner, from the final checkpoint's offset (see StopAsync)
                    }

                    if (!IsFenced && record.Record.Offset.Value >= _nextOffset)
                    {
                        await ApplyAsync(record.Record).ConfigureAwait(false);
                        Interlocked.Exchange(ref _nextOffset, record.Record.Offset.Value + 1);
                    }

                    // Applying mostly completes synchronously, so a worker with a backlog would keep its pool
                    // thread for as long as the backlog lasts; with more partitions than cores that starves
                    // everything else on the pool (the silo's HTTP endpoint first). Yielding now and then puts the
                    // loop back in the queue behind whatever is waiting. By time, not by count, so the cost stays
                    // bounded whatever the record rate.
                    if (Stopwatch.GetTimestamp() - _lastYield > YieldAfterTicks)
                    {
                        await Task.Yield();
                        _lastYield = Stopwatch.GetTimestamp();
                    }

                    break;
                case IQuery query:
                    if (IsFenced)
                    {
                        query.NotOwner();
                    }
                    else
                    {
                        await query.RunAsync().ConfigureAwait(false);
                    }

                    break;
                case CheckpointTick:
                    await CheckpointAsync(final: false).ConfigureAwait(false);
                    EvictIdleGrains();
                    break;
                case StopItem stop:
                    await CheckpointAsync(final: true).ConfigureAwait(false);
                    _inbox.Writer.TryComplete();
                    stop.Done.TrySetResult();
                    break;
            }
        }
    }

    private async Task CheckpointAsync(bool final)
    {
        if (IsFenced)
        {
            return;
        }

        if (!HasChanges && _nextOffset == _storedOffset)
        {
            if (final)
            {
                Logger.LogInformation("Final checkpoint of {Partition}: already stored at offset {Offset}", Partition, _storedOffset);
            }

            return;
        }

        var checkpoint = await PrepareCheckpointAsync(_nextOffset, final).ConfigureAwait(false);
        var started = Context.Time.GetTimestamp();
        try
        {
            // On another thread: Microsoft.Data.Sqlite's async methods run synchronously (waits for SQLite's single
            // write lock included), so awaiting the commit here would hold this loop, and every read, until the
            // transaction is done. The commit touches nothing but the prepared checkpoint and the store.
            var commit = Task.Run(() => WithRetryAsync(
                async () =>
                {
                    await Context.Store.CheckpointAsync(checkpoint, CancellationToken.None).ConfigureAwait(false);
                    return true;
                },
                "checkpoint"));

            // Serving reads go on while the database commits: nothing changes grain state until the commit is
            // done (the checkpoint's states were encoded in PrepareCheckpointAsync, and no record is applied
            // meanwhile), so they see exactly what they would have seen before it.
            while (!commit.IsCompleted)
            {
                await Task.WhenAny(commit, _reads.Reader.WaitToReadAsync().AsTask()).ConfigureAwait(false);
                await RunReadsAsync().ConfigureAwait(false);
            }

            await commit.ConfigureAwait(false);
        }
        catch (PartitionFencedException ex)
        {
            // Another silo owns the partition now. Drop everything: its owner replays from the last
            // checkpoint, so nothing is lost, and nothing of ours can be written twice.
            Context.Stats.OnFencingViolation();
            Logger.LogError(ex, "Fenced out of {Partition}; dropping its in-memory state", Partition);
            Volatile.Write(ref _fenced, true);
            OnFenced();
            return;
        }

        _storedOffset = checkpoint.NextOffset;
        Interlocked.Exchange(ref _lastCheckpointMs, Context.Time.GetUtcNow().ToUnixTimeMilliseconds());
        Context.Stats.OnCheckpoint(Context.Time.GetElapsedTime(started));
        await OnCommittedAsync(checkpoint, final).ConfigureAwait(false);
        if (final)
        {
            Logger.LogInformation("Final checkpoint of {Partition} at offset {Offset}", Partition, checkpoint.NextOffset);
        }
    }

    private async Task RunReadsAsync()
    {
        while (_reads.Reader.TryRead(out var read))
        {
            var query = (IQuery)read;
            if (IsFenced)
            {
                query.NotOwner();
            }
            else
            {
                await query.RunAsync().ConfigureAwait(false);
            }
        }
    }

    private void EvictIdleGrains()
    {
        var now = Now;
        var every = TimeSpan.FromSeconds(Math.Max(1, Context.Options.IdleGrainSeconds / 10.0));
        if (Context.Time.GetElapsedTime(_lastEvictionCheck, now) < every)
        {
            return;
        }

        _lastEvictionCheck = now;
        var usedBefore = now - (long)(Context.Options.IdleGrainSeconds * (double)Context.Time.TimestampFrequency);
        var evicted = EvictIdle(usedBefore);
        if (evicted > 0)
        {
            Context.Stats.OnDeactivations(evicted);
        }
    }

    private abstract record WorkItem;

    private sealed record RecordItem(ConsumeResult<byte[]?, byte[]?> Record) : WorkItem;

    private interface IQuery
    {
        Task RunAsync();

        void NotOwner();
    }

    private sealed record QueryItem<T>(Func<Task<T>> Query) : WorkItem, IQuery
    {
        public TaskCompletionSource<QueryResult<T>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task RunAsync()
        {
            try
            {
                Result.TrySetResult(new QueryResult<T>(true, await Query().ConfigureAwait(false)));
            }
#pragma warning disable CA1031 // a failed query must fail its caller, never the partition's loop
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Result.TrySetException(ex);
            }
        }

        public void NotOwner() => Result.TrySetResult(QueryResult<T>.NotOwner);
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
