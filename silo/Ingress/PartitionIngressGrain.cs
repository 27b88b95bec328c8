using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Silo.Hosting;
using RecoCluster.Silo.Items;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Ingress;

/// <summary>
/// Reads one events partition and applies it, batch by batch, exactly once: to the partition's users (which it
/// holds), then, with the item side they produced, to the item shards, then the checkpoint.
/// </summary>
/// <remarks>
/// Why it is exact through crashes, kills and moves (docs/architecture.md, "Exactly once on Orleans"):
/// <list type="number">
/// <item>The users a batch changed are stored in one transaction with the batch's end and its combined item side
/// (<c>pending_end</c>, <c>pending_item_side</c>), fenced by this reader's epoch, before any item shard sees the
/// batch. Before that transaction nothing of the batch is stored anywhere; after it, whoever reads the partition
/// next sends the shards exactly that item side and resumes after the batch.</item>
/// <item>An item shard stores, per partition, the end of the last batch it stored (its watermark) with its items,
/// and drops a batch at or below it.</item>
/// <item>The checkpoint (<c>next_offset</c> = the batch's end) moves only once every shard of the batch has stored
/// it (with the next batch's users, or alone when the partition is idle), and only while this reader's epoch is
/// current: a reader that lost the partition is fenced.</item>
/// </list>
/// One batch at a time is stored but not yet committed (in flight to its shards): while it is, the records that
/// arrive are applied to their users in memory, so reads see them at once, but they are stored only once the batch in
/// flight is committed, as the next batch. A crash loses what is in memory and nothing else: the next reader finishes
/// the batch in flight from the stored item side and reads on after it.
/// Users live in this grain (a user lives on one partition) rather than in a grain each: per-user grains cost a
/// grain call or two and an activation per user per batch, which capped one silo at about 27,000 events/s with no
/// storage at all (docs/benchmarks.md, "Ingest on the Orleans path"). <see cref="IUserGrain"/> routes to it.
/// </remarks>
[PartitionSpreadPlacement]
public sealed partial class PartitionIngressGrain(
    GrainStore store,
    IOptions<KafkaOptions> kafka,
    IOptions<IngressOptions> options,
    IOptions<UserGrainOptions> userOptions,
    IOptions<ItemShardOptions> shardOptions,
    DeadLetters deadLetters,
    ItemIdTable ids,
    SnapshotHolder snapshots,
    PartitionReaders readers,
    IngressMemoryBudget budget,
    TimeProvider time,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    SiloMetrics metrics,
    ILogger<PartitionIngressGrain> logger) : Grain, IPartitionIngressGrain
{
    // A batch's span links to at most this many producers' spans: enough to follow a click from the storefront
    // into its batch, without a batch of 20,000 records carrying 20,000 links.
    private const int MaxTraceLinks = 64;

    // Applying a batch gives way to other calls (reads of its users) after this many records: a read waits for at
    // most a few milliseconds of applying, not for a whole batch of 20,000.
    private const int RecordsPerTurn = 2_000;

    // The open batch: records taken from the reader and applied to their users in memory as they come (reads see
    // them at once), not stored yet. _records are its valid records, parsed, in log order; the first _appliedCount
    // of them are applied.
    private readonly List<ConsumeResult<byte[]?, byte[]?>> _batch = [];
    private readonly List<(string UserId, ClickEvent? Event, long Offset)> _records = [];
    private readonly List<Task> _deadLetters = [];
    private int _parsedCount;
    private int _appliedCount;
    private long _batchEvents;
    private long _batchStartedTimestamp;
    private long _batchStartedMs;
    private int _partition;
    private long _epoch;
    // Every record below _committed is stored in its users and items; below _checkpointed, the stored checkpoint
    // says so too. A batch's checkpoint is stored with the next batch's users (one transaction fewer per batch), or
    // alone once the partition is idle.
    private long _committed = -1;
    private long _checkpointed = -1;
    // The batch whose users and item side are stored, on its way to its item shards; it counts as committed once
    // every shard has stored it.
    private InFlightBatch? _inFlight;
    private bool _fenced;
    private UserWorkingSet? _users;

    // Every record below this offset is applied to its users in memory, where reads see it: what a read that
    // carries a position (read-your-writes) waits for. It moves back only when an open batch fails and its users
    // return to what is stored. The waiters are reads of this activation, woken as it moves past their positions.
    private long _appliedEnd;
    private PositionWaiters? _appliedWaiters;
    // The end of the log when this activation's reader first knew it (-1 until then), and whether the activation
    // has applied that far: until it has, it is starting, catching up with what its previous activation had
    // applied, and a read that carries a position may wait out the rest of its ReadPosition.StartWait on top of its
    // own wait. The rest counts from the activation, so that a partition working through a long backlog after a
    // restart slows only the reads of its first seconds, not every read until it is through.
    private long _startEnd = -1;
    private bool _started;
    // Reads waiting for _committed (a neighborhood round after a burst waits for what it must count).
    private PositionWaiters? _committedWaiters;

    // Kept from batch to batch: it reuses its per-item accumulators, which a new one per batch allocated again.
    private DeltaCombiner? _combiner;
    private PartitionReader? _reader;
    // This ingress's part of the silo's budgets (batch, read-ahead, users in memory), taken again each turn: it
    // shrinks as the silo takes on partitions and grows as they leave.
    private IngressShare _share;
    private IGrainTimer? _timer;
    private long _batches;
    private long _applied;
    private long _invalid;
    private int _failures;
    private long _retryAtMs;
    private string? _lastError;
    private string? _blocked;
    private long _activatedMs;
    private PartitionProgress? _progress;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _partition = checked((int)this.GetPrimaryKeyLong());
        _activatedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        _users = new UserWorkingSet(userOptions.Value, ids, budget.Share(readers.Count + 1).UsersInMemory); // + its own reader, started below
        _appliedWaiters = new PositionWaiters(time);
        _committedWaiters = new PositionWaiters(time);
        _combiner = new DeltaCombiner(ids);
        IngressClaim claim;
        try
        {
            claim = await store.ClaimIngressAsync(_partition, cancellationToken);
        }
        catch (System.Data.Common.DbException e)
        {
            // The activation fails and the keeper's next call tries again; its callers get a reason they can read.
            throw GroupCommitGrainStorage.StorageUnavailable(e, $"claiming events partition {_partition}");
        }

        _epoch = claim.Epoch;
        _committed = claim.NextOffset;
        _checkpointed = claim.NextOffset;
        _progress = new PartitionProgress(_partition) { Committed = claim.NextOffset };
        metrics.Track(_progress);
        var resumeAt = claim.NextOffset;
        if (claim.PendingEnd is { } pendingEnd)
        {
            if (claim.PendingItemSide is not { } side)
            {
                // Begun by a version before users were stored with their batch's item side: its users stored their
                // shares, and this version cannot finish it exactly.
                _blocked = $"events partition {_partition}: a batch ending at {pendingEnd} was begun by a version of RecoCluster before 2026-12 and never finished. " +
                    "Run that version until every partition has checkpointed (no lag), then upgrade (docs/operations.md, \"Upgrading\").";
                LogBlocked(_blocked);
                _progress.Blocked = true;
                return;
            }

            // The previous reader stored this batch's users and item side: what is left is to send the item side to
            // the shards and checkpoint, and to read on after the batch.
            _inFlight = new InFlightBatch(pendingEnd, ByShard(ItemDeltaCodec.Decode(side, ids)), 0, 0, 0, time.GetTimestamp());
            resumeAt = pendingEnd;
        }

        _appliedEnd = resumeAt;
        _share = budget.Share(readers.Count + 1); // + its own reader
        _reader = readers.Start(_partition, resumeAt, options.Value.MaxBufferedRecords, _share.BufferedRecords);
        LogStarted(_partition, _epoch, claim.NextOffset, claim.PendingEnd);
        var poll = TimeSpan.FromMilliseconds(options.Value.PollIntervalMs);
        _timer = this.RegisterGrainTimer(PumpAsync, new GrainTimerCreationOptions(TimeSpan.Zero, poll) { KeepAlive = true });
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        StopReader();
        // Reads still waiting for a position answer now, as behind: this activation will apply nothing more.
        _appliedWaiters?.CancelAll();
        _committedWaiters?.CancelAll();

        if (_progress is not null)
        {
            metrics.Untrack(_progress);
        }

        return Task.CompletedTask;
    }

    public Task<IngressStatus> EnsureRunningAsync()
    {
        // After a membership change the partition may belong elsewhere: it migrates there (placement picks the home
        // again, from this silo's view), and the new activation claims it and resumes from the last checkpoint.
        // Migration, not deactivation: a deactivated grain leaves no directory entry, so a caller whose cache still
        // names this silo would activate it here again, and the partition would move back and forth for as long as
        // that cache lived. A migrated grain's entry names its new home, and a stale caller is forwarded there.
        var activeForMs = time.GetUtcNow().ToUnixTimeMilliseconds() - _activatedMs;
        if (PartitionSpreadPlacement.ShouldMove(_partition, silo.SiloAddress, activeForMs, options.Value.KeeperIntervalMs, membership))
        {
            LogMoving(_partition, silo.SiloAddress.ToString());
            MigrateOnIdle();
        }

        return Task.FromResult(Status());
    }

    public async Task<UserHistoryRead> GetUserHistoryAsync(string userId, ReadPosition at)
    {
        var reached = await ReachAsync(at);
        return new UserHistoryRead((await FindUserAsync(userId))?.GetHistory(), !reached);
    }

    public async Task<UserInputRead> GetUserInputAsync(string userId, ReadPosition at)
    {
        var reached = await ReachAsync(at);
        return new UserInputRead((await FindUserAsync(userId))?.GetRecommendationInput(), !reached);
    }

    public async Task<bool> WaitCommittedAsync(long position, TimeSpan maxWait) =>
        _blocked is null && await _committedWaiters!.WaitAsync(position, maxWait, () => _committed);

    // Whether every record below the position is applied to the users in memory, waiting for it at most the read's
    // wait: batches go on applying meanwhile (the read is an interleaved call), and each advance wakes the reads it
    // satisfies.
    private async Task<bool> ReachAsync(ReadPosition at) =>
        _blocked is null
            ? await _appliedWaiters!.WaitAsync(at.Position, at.MaxWait + StartAllowance(at), () => _appliedEnd)
            : at.Position <= _appliedEnd;

    // What is left of the read's start wait, counted from this activation's start, while the activation is starting.
    private TimeSpan StartAllowance(ReadPosition at)
    {
        if (_started || at.StartWait <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var left = at.StartWait - TimeSpan.FromMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds() - _activatedMs);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    // Once per turn until the activation has started: it has when it has applied the log as far as its reader first
    // saw it end. A fenced or stopped reader never starts; its reads wait their start wait and answer behind.
    private void NoteStart(PartitionReader reader)
    {
        if (_started)
        {
            return;
        }

        if (_startEnd < 0)
        {
            _startEnd = reader.HighWatermark;
        }

        _started = _startEnd >= 0 && _appliedEnd >= _startEnd;
    }

    private void AdvanceApplied(long end)
    {
        _appliedEnd = end;
        _appliedWaiters!.Advance(end);
    }

    // Memory first (it holds the last batch applied, stored or not yet), else storage: a user not in memory has
    // nothing beyond what is stored. A user read from storage is not kept: only batches bring users into memory.
    private async Task<UserModel?> FindUserAsync(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (_users!.TryGet(userId, out var model))
        {
            return model;
        }

        try
        {
            var stored = await store.LoadUsersAsync([userId], CancellationToken.None);
            return stored.TryGetValue(userId, out var user) ? new UserModel(userId, userOptions.Value, ids, UserGrainStateCodec.Decode(user.Payload)) : null;
        }
        catch (System.Data.Common.DbException e)
        {
            // An OrleansException, which the gateway answers with 503 and Retry-After: the database is away, the
            // request is fine.
            throw GroupCommitGrainStorage.StorageUnavailable(e, $"reading user {userId}");
        }
    }

    private IngressStatus Status() => new(
        _partition,
        silo.SiloAddress.ToString(),
        _epoch,
        _committed,
        _reader?.HighWatermark ?? -1,
        _batches,
        _applied,
        _invalid,
        _lastError,
        _blocked,
        _users?.Count ?? 0,
        budget.Share(readers.Count).BatchRecords); // what its next batch may take, not its last turn's share

    // One turn of the timer: send the batch in flight to its shards (applying what arrives meanwhile to its users),
    // then store the open batch's users with its item side, which the next turn sends. The turn ends there, so the
    // keeper's calls and moves get their turn between batches.
    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        if (_fenced || _reader is null || time.GetUtcNow().ToUnixTimeMilliseconds() < _retryAtMs)
        {
            return;
        }

        _progress!.HighWatermark = _reader.HighWatermark;
        _share = budget.Share(readers.Count);
        _reader.Limit = _share.BufferedRecords;
        _users!.Capacity = _share.UsersInMemory;
        if (_reader.OutOfRange is not null)
        {
            await BlockAsync(_reader);
            return;
        }

        try
        {
            if (_inFlight is { } inFlight)
            {
                await ShipAsync(inFlight);
            }

            await ApplyBufferedAsync();
            NoteStart(_reader);
            if (_batch.Count > 0)
            {
                await CommitOpenBatchAsync();
            }
            else if (_checkpointed < _committed)
            {
                await store.CommitIngressBatchAsync(_partition, _epoch, _committed, CancellationToken.None);
                _checkpointed = _committed;
            }

            _failures = 0;
            _lastError = null;
        }
        catch (PartitionFencedException)
        {
            // Another reader claimed the partition: it resumes from the last checkpoint, so this one writes nothing
            // more and goes away.
            LogFenced(_partition, _epoch);
            metrics.Fenced();
            EndActivation();
        }
        catch (StoredMeanwhileException e)
        {
            LogStoredMeanwhile(e.Message);
            metrics.BatchFailed();
            _lastError = e.Message;
            EndActivation();
        }
        catch (Exception e)
        {
            // What is in hand stays and is tried again: the batch in flight (stored with its users, so a shard that
            // stored it drops it and one that did not applies it now), and the open batch's records, applied again
            // from what is stored (its users were dropped from memory where they had changed).
            _failures++;
            _lastError = e.Message;
            metrics.BatchFailed();
            var delay = Math.Min(5_000, options.Value.RetryDelayMs << Math.Min(_failures - 1, 16));
            _retryAtMs = time.GetUtcNow().ToUnixTimeMilliseconds() + delay;
            LogBatchFailed(e, _partition, _inFlight?.End ?? (_batch.Count > 0 ? _batch[^1].Offset.Value + 1 : -1), delay);
        }
    }

    // This activation writes nothing more and goes away; the next one resumes from what is stored.
    private void EndActivation()
    {
        _fenced = true;
        StopReader();
        DeactivateOnIdle();
    }

    // Sends a stored batch's item side to its shards and, once every shard has stored it, counts it as committed.
    // Meanwhile the records that arrive are applied to their users every poll interval, so an event shows in its
    // user within about that even while the shards wait to write (Reco:Items:WriteIntervalMs).
    private async Task ShipAsync(InFlightBatch batch)
    {
        var ship = Task.WhenAll(batch.ItemSide.Select(s => GrainFactory.GetGrain<IItemShardGrain>(s.Key).ApplyAsync(_partition, batch.End, s.Value)));
        var poll = TimeSpan.FromMilliseconds(options.Value.PollIntervalMs);
        Exception? applyFailure = null;
        while (!ship.IsCompleted)
        {
            if (applyFailure is null)
            {
                try
                {
                    await ApplyBufferedAsync();
                }
                catch (Exception e)
                {
                    // Reported once the shards have answered: the batch in flight is not left half sent.
                    applyFailure = e;
                }
            }

            await Task.WhenAny(ship, Task.Delay(poll, time));
        }

        await ship;

        // Counted once every shard has stored the batch: a batch that is retried is not counted twice. A batch
        // finished after a takeover was counted by the reader that applied it.
        _applied += batch.Events;
        _invalid += batch.Invalid;
        _committed = batch.End;
        _inFlight = null;
        _committedWaiters!.Advance(_committed);
        _batches++;
        metrics.Checkpointed(batch.Records, batch.Events, batch.Invalid, time.GetElapsedTime(batch.StartedTimestamp));
        _progress!.Committed = _committed;
        _progress.PendingSinceMs = _batch.Count > 0 ? _batchStartedMs : 0;
        if (applyFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(applyFailure);
        }
    }

    // Takes what the reader has buffered into the open batch, up to this ingress's share of its silo's record budget
    // (Reco:Ingress:MaxBatchRecords at most), parses it, brings its users into memory and applies it to them in log
    // order (giving way to reads now and then). A failure drops the open batch's changed users from memory: its
    // records are applied again, from what is stored.
    private async Task ApplyBufferedAsync()
    {
        var buffered = _reader!.Records;
        var before = _batch.Count;
        while (_batch.Count < _share.BatchRecords && buffered.TryRead(out var record))
        {
            if (_batch.Count == 0)
            {
                _batchStartedTimestamp = time.GetTimestamp();
                _batchStartedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
                if (_inFlight is null)
                {
                    _progress!.PendingSinceMs = _batchStartedMs;
                }
            }

            _batch.Add(record);
        }

        if (_batch.Count > before)
        {
            _reader.Took();
        }

        ParseNew();
        if (_appliedCount == _records.Count)
        {
            // Nothing new to apply, or only invalid records (dead-lettered, nothing to apply): the batch so far is
            // applied.
            if (_batch.Count > 0)
            {
                AdvanceApplied(_batch[^1].Offset.Value + 1);
            }

            return;
        }

        var users = _users!;
        try
        {
            var missing = users.Missing(NewUsers());
            if (missing.Count > 0)
            {
                var stored = await store.LoadUsersAsync(missing, CancellationToken.None);
                var storedUpTo = _inFlight?.End ?? _committed;
                foreach (var userId in missing)
                {
                    if (stored.TryGetValue(userId, out var user) && user.LastBatchEnd > storedUpTo)
                    {
                        // Stored for a batch past what this reader knows it has stored: by a newer reader (the epoch
                        // check fences this one), or by this reader's own last commit, whose answer was lost (the
                        // connection dropped after the database had committed). Going on would apply that batch
                        // again, so this activation ends, and the next resumes from what is stored: it finds the
                        // batch pending and sends its item side, as after a crash at that point.
                        await store.CheckIngressEpochAsync(_partition, _epoch, CancellationToken.None);
                        throw new StoredMeanwhileException(
                            $"events partition {_partition}: user {userId} is stored up to offset {user.LastBatchEnd}, past offset {storedUpTo}, where this reader knows it has stored its users; a new activation resumes from what is stored");
                    }

                    users.Load(userId, stored.TryGetValue(userId, out var found) ? UserGrainStateCodec.Decode(found.Payload) : null);
                }
            }

            // The factor step reads the item vectors of the snapshot this silo serves. Records applied again after
            // a failure (nothing of them stored, so nothing sent) may meet a newer snapshot than their first attempt
            // did: their factor gradients can differ, their counts cannot.
            var factors = snapshots.Current.Factors;
            var combiner = _combiner!;
            while (_appliedCount < _records.Count)
            {
                var (userId, evt, offset) = _records[_appliedCount];
                users.Apply(userId, evt, combiner, factors);
                _appliedCount++;
                if (_appliedCount % RecordsPerTurn == 0 && _appliedCount < _records.Count)
                {
                    AdvanceApplied(offset + 1);
                    await Task.Yield();
                }
            }

            AdvanceApplied(_batch[^1].Offset.Value + 1);
        }
        catch
        {
            DropAppliedUsers();
            throw;
        }
    }

    private IEnumerable<string> NewUsers()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = _appliedCount; i < _records.Count; i++)
        {
            if (seen.Add(_records[i].UserId))
            {
                yield return _records[i].UserId;
            }
        }
    }

    // Stores the open batch's changed users with its combined item side and the previous batch's checkpoint, in one
    // transaction fenced by this reader's epoch; the batch is then in flight, and the next turn sends it.
    private async Task CommitOpenBatchAsync()
    {
        using var span = StartBatchSpan();
        try
        {
            // The batch moves past a bad record only once the dead-letter topic holds it.
            await Task.WhenAll(_deadLetters);
        }
        catch
        {
            // Dead letters that did not reach their topic are sent again: the batch is parsed again from its start.
            DropAppliedUsers();
            ForgetParsed();
            throw;
        }

        var end = _batch[^1].Offset.Value + 1;
        var deltas = _combiner!.Drain();
        var users = _users!;
        var changed = users.Changed().ConvertAll(u => new UserWrite(u.UserId, u.State is null ? null : UserGrainStateCodec.Encode(u.State)));
        var side = ItemDeltaCodec.Encode(deltas);
        try
        {
            await store.CommitUserBatchAsync(_partition, _epoch, _committed, end, side, changed, CancellationToken.None);
        }
        catch
        {
            DropAppliedUsers();
            throw;
        }

        metrics.Stored(StoredKind.User, changed.Sum(u => (long)(u.Payload?.Length ?? 0)));
        metrics.Stored(StoredKind.ItemSide, side.Length);

        _checkpointed = _committed;
        users.Stored();
        _inFlight = new InFlightBatch(end, ByShard(deltas), _batch.Count, _batchEvents, _deadLetters.Count, _batchStartedTimestamp);
        span?.SetTag("messaging.batch.message_count", _batch.Count);
        _batch.Clear();
        ForgetParsed();
        _appliedCount = 0;
    }

    // The open batch's records as parsed (valid ones, dead letters, counts): parsed again from the batch's start.
    private void ForgetParsed()
    {
        _records.Clear();
        _deadLetters.Clear();
        _parsedCount = 0;
        _batchEvents = 0;
    }

    // The open batch's users go back to what is stored (they are loaded again when its records are applied again).
    private void DropAppliedUsers()
    {
        _combiner!.Clear();
        _users!.Discard();
        _appliedCount = 0;
        _appliedEnd = _inFlight?.End ?? _committed;
    }

    private Dictionary<int, ItemDeltaBatch> ByShard(IReadOnlyList<ItemDelta> deltas)
    {
        var shards = shardOptions.Value.Shards;
        return deltas.GroupBy(d => ItemShards.Of(d.ItemId, shards)).ToDictionary(g => g.Key, g => new ItemDeltaBatch(g.ToArray()));
    }

    // Parses the open batch's records not parsed yet, once whatever the number of attempts: the valid ones appended
    // to the records to apply, the invalid ones sent to the dead-letter topic (their deliveries awaited before the
    // batch is stored).
    private void ParseNew()
    {
        for (; _parsedCount < _batch.Count; _parsedCount++)
        {
            var record = _batch[_parsedCount];
            var parsed = EventRecordParser.Parse(record);
            if (parsed.Error is not null)
            {
                LogDeadLetter(record.Partition.Value, record.Offset.Value, parsed.Error);
                _deadLetters.Add(deadLetters.SendAsync(record, parsed.Error));
                continue;
            }

            _records.Add((parsed.UserId!, parsed.Event, record.Offset.Value));
            _batchEvents += parsed.Event is null ? 0 : 1;
        }
    }

    // One span per batch attempt, linked to the spans of the producers whose records it carries (W3C traceparent
    // headers), as OpenTelemetry's messaging conventions do for batches: a batch has many parents, not one. It is
    // not made current, so the batch's grain calls do not each become a span of it.
    private Activity? StartBatchSpan()
    {
        if (!RecoTelemetry.Source.HasListeners())
        {
            return null;
        }

        var links = new List<ActivityLink>();
        foreach (var record in _batch)
        {
            if (links.Count == MaxTraceLinks)
            {
                break;
            }

            if (record.Message.Headers?.TryGetLastBytes(TraceHeaders.TraceParent, out var header) == true
                && ActivityContext.TryParse(Encoding.ASCII.GetString(header), null, out var context))
            {
                links.Add(new ActivityLink(context));
            }
        }

        var previous = Activity.Current;
        var span = RecoTelemetry.Source.StartActivity("reco.ingress.batch", ActivityKind.Consumer, parentContext: default, links: links);
        Activity.Current = previous;
        span?.SetTag("messaging.system", "kafka");
        span?.SetTag("messaging.destination.name", kafka.Value.Topics.Events);
        span?.SetTag("messaging.destination.partition.id", _partition.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return span;
    }

    // The stored position is outside the log: the log was reset or truncated, or the database belongs to another
    // Kafka. Nothing sensible can be read from here on (the stored state counts events this log does not have), so
    // the ingress stops and says so, with both offsets, until an operator resets (docs/operations.md).
    private async Task BlockAsync(PartitionReader reader)
    {
        var log = "unknown (Kafka did not answer)";
        try
        {
            var (start, end) = await Task.Run(() => reader.QueryLog(TimeSpan.FromSeconds(5)));
            log = $"[{start}, {end})";
        }
        catch (KafkaException)
        {
        }

        _blocked = $"events partition {_partition}: the stored position {_committed} is outside the log, which holds offsets {log}. " +
            "The log was reset, or this database belongs to another Kafka; nothing is read from the partition until the stored state is reset " +
            "(docs/operations.md, \"A stored position outside the log\").";
        LogBlocked(_blocked);
        _progress!.Blocked = true;
        StopReader();
    }

    private void StopReader()
    {
        if (_reader is { } reader)
        {
            _reader = null;
            readers.Stop(reader);
        }
    }

    // This activation's idea of what it stored is behind what is stored (a commit whose answer was lost).
    private sealed class StoredMeanwhileException(string message) : Exception(message);

    /// <summary>A batch whose users and item side are stored, on its way to its item shards: its end, its item side
    /// by shard, and what it held (for the metrics once it is committed).</summary>
    private sealed record InFlightBatch(long End, Dictionary<int, ItemDeltaBatch> ItemSide, int Records, long Events, int Invalid, long StartedTimestamp);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Problem}")]
    private partial void LogBlocked(string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingress of events partition {Partition} leaves {Silo}: the membership changed and it belongs on another silo")]
    private partial void LogMoving(int partition, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingress of events partition {Partition} started: epoch {Epoch}, from offset {Offset}, pending batch end {PendingEnd}")]
    private partial void LogStarted(int partition, long epoch, long offset, long? pendingEnd);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingress of events partition {Partition} (epoch {Epoch}) was fenced by a newer reader; it stops")]
    private partial void LogFenced(int partition, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Problem}")]
    private partial void LogStoredMeanwhile(string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch of events partition {Partition} ending at {BatchEnd} failed; retrying in {DelayMs} ms")]
    private partial void LogBatchFailed(Exception exception, int partition, long batchEnd, int delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering events[{Partition}]@{Offset}: {Reason}")]
    private partial void LogDeadLetter(int partition, long offset, string reason);
}
