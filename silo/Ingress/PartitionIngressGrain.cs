using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Silo.Hosting;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Ingress;

/// <summary>
/// Reads one events partition and applies it, batch by batch, exactly once: to the user grains, then, with the
/// item side they return, to the item grains, then the checkpoint.
/// </summary>
/// <remarks>
/// Why it is exact through crashes, kills and moves (docs/architecture.md, "Exactly once on Orleans"):
/// <list type="number">
/// <item>The user grains apply a batch in memory and return its item side; the ingress stores the batch's end and
/// its combined item side (<c>pending_end</c>, <c>pending_item_side</c>) before any user stores its state or any
/// item sees it. Whoever reads the partition next cuts the same batch again, with the same end, and sends the items
/// exactly that item side. Before that write nothing of the batch is stored anywhere, so a new reader may cut it
/// differently.</item>
/// <item>A user grain stores its state with the batch's end, and a batch at or below it is not applied again.</item>
/// <item>An item grain stores, per partition, the end of the last batch it applied, and drops a batch at or below
/// it.</item>
/// <item>The checkpoint (<c>next_offset</c> = the batch's end) moves only once every grain of the batch has stored
/// it, and only while this reader's epoch is current: a reader that lost the partition is fenced, and a new one
/// replays from the last checkpoint.</item>
/// </list>
/// Users are placed on the silo that first calls them (the reader of their partition), so the user side is local;
/// item grains are spread over the cluster.
/// </remarks>
[PartitionSpreadPlacement]
public sealed partial class PartitionIngressGrain(
    GrainStore store,
    IOptions<KafkaOptions> kafka,
    IOptions<IngressOptions> options,
    DeadLetters deadLetters,
    GrainStateSerializer serializer,
    ItemIdTable ids,
    PartitionReaders readers,
    TimeProvider time,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    SiloMetrics metrics,
    ILogger<PartitionIngressGrain> logger) : Grain, IPartitionIngressGrain
{
    // A batch's span links to at most this many producers' spans: enough to follow a click from the storefront
    // into its batch, without a batch of 20,000 records carrying 20,000 links.
    private const int MaxTraceLinks = 64;

    private readonly List<ConsumeResult<byte[]?, byte[]?>> _batch = [];
    private int _partition;
    private long _epoch;
    private long _committed = -1;
    private long? _pendingEnd;
    private byte[]? _pendingItemSide;
    private long? _batchEnd;
    private ParsedBatch? _parsed;
    private List<ItemDelta>? _itemSide;
    private bool _legacyBatch;
    private bool _fenced;

    // Kept from batch to batch: it reuses its per-item accumulators, which a new one per batch allocated again.
    private DeltaCombiner? _combiner;
    private ConsumeResult<byte[]?, byte[]?>? _carried;
    private PartitionReader? _reader;
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
    private long _batchStartedTimestamp;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _partition = checked((int)this.GetPrimaryKeyLong());
        _activatedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
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
        _pendingEnd = claim.PendingEnd;
        _pendingItemSide = claim.PendingItemSide;
        _reader = readers.Start(kafka.Value, _partition, claim.NextOffset, options.Value.MaxBufferedRecords);
        _progress = new PartitionProgress(_partition) { Committed = claim.NextOffset };
        metrics.Track(_progress);
        LogStarted(_partition, _epoch, claim.NextOffset, claim.PendingEnd);
        var poll = TimeSpan.FromMilliseconds(options.Value.PollIntervalMs);
        _timer = this.RegisterGrainTimer(PumpAsync, new GrainTimerCreationOptions(TimeSpan.Zero, poll) { KeepAlive = true });
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        StopReader();
        if (_progress is not null)
        {
            metrics.Untrack(_progress);
        }

        return Task.CompletedTask;
    }

    public Task<IngressStatus> EnsureRunningAsync()
    {
        // After a membership change the partition may belong elsewhere: it migrates there (placement picks the home
        // again, from this silo's view), and the new activation claims it and replays from the last checkpoint.
        // Migration, not deactivation: a deactivated grain leaves no directory entry, so a caller whose cache still
        // names this silo would activate it here again, and the partition would move back and forth for as long as
        // that cache lived. A migrated grain's entry names its new home, and a stale caller is forwarded there.
        // Silos see a membership change at slightly different moments, and placement may still count a silo that
        // is about to be declared dead: a fresh activation stays a few keeper rounds before it moves again, so
        // views that disagree for a moment do not bounce a partition between silos.
        // The home is computed over the same set the placement director places over (this silo's active members),
        // so the ingress never moves to a silo placement would not send it to.
        var settled = time.GetUtcNow().ToUnixTimeMilliseconds() - _activatedMs > 3 * options.Value.KeeperIntervalMs;
        var active = PartitionSpreadPlacement.ActiveSilos(membership);
        if (settled && active.Contains(silo.SiloAddress) && !PartitionSpreadPlacement.Home(_partition, active).Equals(silo.SiloAddress))
        {
            LogMoving(_partition, silo.SiloAddress.ToString());
            MigrateOnIdle();
        }

        return Task.FromResult(Status());
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
        _blocked);

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        if (_fenced || _reader is null || time.GetUtcNow().ToUnixTimeMilliseconds() < _retryAtMs)
        {
            return;
        }

        _progress!.HighWatermark = _reader.HighWatermark;
        if (_reader.OutOfRange is not null)
        {
            await BlockAsync(_reader);
            return;
        }

        try
        {
            if (_batchEnd is null)
            {
                if (!CutBatch())
                {
                    return;
                }

                _progress.PendingSinceMs = time.GetUtcNow().ToUnixTimeMilliseconds();
                _batchStartedTimestamp = time.GetTimestamp();
            }

            using var span = StartBatchSpan();
            var batchEnd = _batchEnd!.Value;
            var parsed = _parsed ??= Parse(batchEnd);

            // The batch moves past a bad record only once the dead-letter topic holds it.
            await parsed.DeadLettered;
            var erased = _itemSide is null ? await ApplyAndStoreItemSideAsync(parsed, batchEnd) : await ReplayAsync(parsed, batchEnd);
            await store.CommitIngressBatchAsync(_partition, _epoch, batchEnd, CancellationToken.None);
            await ForgetErasedAsync(erased, batchEnd);

            // Counted once the batch is stored: a batch that is retried is not counted twice.
            _applied += parsed.Events;
            _invalid += parsed.Invalid;
            _committed = batchEnd;
            metrics.Checkpointed(_batch.Count, parsed.Events, parsed.Invalid, time.GetElapsedTime(_batchStartedTimestamp));
            _progress.Committed = _committed;
            _progress.PendingSinceMs = 0;
            span?.SetTag("messaging.batch.message_count", _batch.Count);
            _batch.Clear();
            _batchEnd = null;
            _parsed = null;
            _itemSide = null;
            _legacyBatch = false;
            _batches++;
            _failures = 0;
            _lastError = null;
        }
        catch (PartitionFencedException)
        {
            // Another reader claimed the partition: it replays from the last checkpoint, so this one writes nothing
            // more and goes away.
            LogFenced(_partition, _epoch);
            metrics.Fenced();
            _fenced = true;
            StopReader();
            DeactivateOnIdle();
        }
        catch (Exception e)
        {
            // The batch stays in hand, with its end (and its item side, once stored), and is sent again as it is: a
            // grain that stored it answers from storage, one that did not applies it now.
            _failures++;
            _lastError = e.Message;
            if (_parsed is { DeadLettered.IsCompletedSuccessfully: false })
            {
                // Dead letters that did not reach their topic are sent again by the next attempt.
                _parsed = null;
            }

            metrics.BatchFailed();
            var delay = Math.Min(5_000, options.Value.RetryDelayMs << Math.Min(_failures - 1, 16));
            _retryAtMs = time.GetUtcNow().ToUnixTimeMilliseconds() + delay;
            LogBatchFailed(e, _partition, _batchEnd ?? -1, delay);
        }
    }

    // One span per batch attempt, linked to the spans of the producers whose records it carries (W3C traceparent
    // headers), as OpenTelemetry's messaging conventions do for batches: a batch has many parents, not one. It is
    // not made current, so the batch's thousands of grain calls do not each become a span of it.
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

    // Takes the next batch from the reader's buffer. After a takeover the first batch must end where the previous
    // reader's pending batch ended, however long the records take to arrive.
    private bool CutBatch()
    {
        var records = _reader!.Records;
        if (_pendingEnd is { } pendingEnd)
        {
            while (records.TryRead(out var record))
            {
                if (record.Offset.Value >= pendingEnd)
                {
                    _carried = record;
                    break;
                }

                _batch.Add(record);
                if (record.Offset.Value == pendingEnd - 1)
                {
                    break;
                }
            }

            if (_carried is null && (_batch.Count == 0 || _batch[^1].Offset.Value < pendingEnd - 1))
            {
                return false;
            }

            _batchEnd = pendingEnd;
            _pendingEnd = null;
            // The item side the previous reader stored for this batch (none for a batch begun before item sides
            // were stored: then its users still hold their shares).
            _itemSide = _pendingItemSide is { } side ? serializer.Decode<List<ItemDelta>>(side, $"item side of events partition {_partition} ending at {pendingEnd}") : null;
            _legacyBatch = _itemSide is null;
            _pendingItemSide = null;
            return true;
        }

        if (_carried is not null)
        {
            _batch.Add(_carried);
            _carried = null;
        }

        while (_batch.Count < options.Value.MaxBatchRecords && records.TryRead(out var record))
        {
            _batch.Add(record);
        }

        if (_batch.Count == 0)
        {
            return false;
        }

        _batchEnd = _batch[^1].Offset.Value + 1;
        return true;
    }

    // Parses the batch once, whatever the number of attempts: each user's records in log order, the invalid
    // records sent to the dead-letter topic (their deliveries awaited by every attempt, sent only by the first).
    private ParsedBatch Parse(long batchEnd)
    {
        var perUser = new Dictionary<string, List<UserBatchRecord>>(StringComparer.Ordinal);
        var deadLettered = new List<Task>();
        long events = 0;
        foreach (var record in _batch)
        {
            var parsed = EventRecordParser.Parse(record);
            if (parsed.Error is not null)
            {
                LogDeadLetter(record.Partition.Value, record.Offset.Value, parsed.Error);
                deadLettered.Add(deadLetters.SendAsync(record, parsed.Error));
                continue;
            }

            if (!perUser.TryGetValue(parsed.UserId!, out var list))
            {
                perUser[parsed.UserId!] = list = [];
            }

            list.Add(new UserBatchRecord(record.Offset.Value, parsed.Event));
            events += parsed.Event is null ? 0 : 1;
        }

        var users = perUser.Keys.ToArray();
        var batches = Array.ConvertAll(users, u => new UserEventBatch(_partition, batchEnd, perUser[u]));
        return new ParsedBatch(users, batches, events, deadLettered.Count, Task.WhenAll(deadLettered));
    }

    // The first attempt at a batch: the users apply it in memory and return its item side, which is combined per
    // item and stored before any user stores its state or any item sees it; then both sides store it. Returns the
    // users the batch erased.
    private async Task<List<string>> ApplyAndStoreItemSideAsync(ParsedBatch parsed, long batchEnd)
    {
        var results = await Task.WhenAll(parsed.Users.Select((u, i) => GrainFactory.GetGrain<IUserGrain>(u).ApplyAsync(parsed.Batches[i])));
        var combiner = _combiner ??= new DeltaCombiner(ids);
        combiner.Clear();
        var storedAlready = false;
        for (var i = 0; i < results.Length; i++)
        {
            combiner.Add(results[i].ItemSide);

            // A user that stored this batch before any item side was stored for it: in a batch begun before item
            // sides were stored, it returned its own share (added above); otherwise this reader's view of the
            // partition is stale.
            storedAlready |= results[i].Replayed && !_legacyBatch;
        }

        if (storedAlready)
        {
            await store.CheckIngressEpochAsync(_partition, _epoch, CancellationToken.None);
            throw new InvalidOperationException(
                $"events partition {_partition}: a user grain has stored the batch ending at {batchEnd} although no item side was stored for it; the batch is not sent to the items");
        }

        var itemSide = combiner.Drain();
        await store.StoreIngressItemSideAsync(_partition, _epoch, batchEnd, serializer.Encode(itemSide), CancellationToken.None);
        _itemSide = itemSide;
        var users = parsed.Users.Select(u => GrainFactory.GetGrain<IUserGrain>(u).StoreAsync(batchEnd));
        await Task.WhenAll(users.Concat(SendItemSide(itemSide, batchEnd)));
        return Erased(parsed, results);
    }

    // A batch whose item side is stored (by this reader before an attempt failed, or by the reader before it): the
    // users apply what they have not applied and store it in one call, and the items get the stored item side.
    private async Task<List<string>> ReplayAsync(ParsedBatch parsed, long batchEnd)
    {
        var users = Task.WhenAll(parsed.Users.Select((u, i) => GrainFactory.GetGrain<IUserGrain>(u).ApplyAsync(parsed.Batches[i] with { ItemSideStored = true })));
        await Task.WhenAll(SendItemSide(_itemSide!, batchEnd).Append(users));
        return Erased(parsed, await users);
    }

    private IEnumerable<Task> SendItemSide(List<ItemDelta> itemSide, long batchEnd) =>
        itemSide.Select(d => (Task)GrainFactory.GetGrain<IItemGrain>(d.ItemId).ApplyAsync(_partition, batchEnd, d));

    private static List<string> Erased(ParsedBatch parsed, UserBatchResult[] results) =>
        [.. parsed.Users.Where((_, i) => results[i].Erased)];

    private async Task ForgetErasedAsync(List<string> erased, long batchEnd)
    {
        foreach (var userId in erased)
        {
            try
            {
                await GrainFactory.GetGrain<IUserGrain>(userId).ForgetErasedAsync(batchEnd);
            }
            catch (Exception e)
            {
                // The batch is checkpointed; the tombstone (the erased user's last item side, no history) stays
                // until the user's next batch replaces it.
                LogForgetFailed(e, _partition);
            }
        }
    }

    // The stored position is outside the log: the log was reset or truncated, or the database belongs to another
    // Kafka. Nothing sensible can be read from here on (the grains' state counts events this log does not have),
    // so the ingress stops and says so, with both offsets, until an operator resets (docs/operations.md).
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

    /// <summary>A batch as the grains get it: its users, each one's records, and what it holds.</summary>
    private sealed record ParsedBatch(string[] Users, UserEventBatch[] Batches, long Events, int Invalid, Task DeadLettered);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Problem}")]
    private partial void LogBlocked(string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingress of events partition {Partition} leaves {Silo}: the membership changed and it belongs on another silo")]
    private partial void LogMoving(int partition, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingress of events partition {Partition} started: epoch {Epoch}, from offset {Offset}, pending batch end {PendingEnd}")]
    private partial void LogStarted(int partition, long epoch, long offset, long? pendingEnd);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingress of events partition {Partition} (epoch {Epoch}) was fenced by a newer reader; it stops")]
    private partial void LogFenced(int partition, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch of events partition {Partition} ending at {BatchEnd} failed; retrying in {DelayMs} ms")]
    private partial void LogBatchFailed(Exception exception, int partition, long batchEnd, int delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering events[{Partition}]@{Offset}: {Reason}")]
    private partial void LogDeadLetter(int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete an erased user's tombstone after a batch of events partition {Partition}")]
    private partial void LogForgetFailed(Exception exception, int partition);
}
