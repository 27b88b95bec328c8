using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Ingress;
using RecoCluster.Silo.Storage;
using RecoCluster.Grains.Model;

namespace RecoCluster.Silo.Runtime;

/// <summary>
/// A partition of the events topic: its user grains, and the item side of its events, shipped to the item grains
/// through a transactional outbox.
/// </summary>
/// <remarks>
/// The shuffle is exactly-once because a batch's boundaries are durable before the batch is sent. The combined
/// deltas of the records between two checkpoints are written into the outbox in the same transaction as the
/// user states and the offset, tagged (source partition, batch end = the checkpoint's offset). Only then are they
/// produced, and the next checkpoint commits only once Kafka has acknowledged them (and deletes them from the
/// outbox). A batch is therefore sent only if its effects on the user grains are stored, every batch ever sent is
/// sent again with the same boundaries (never re-cut differently after a crash), and a source partition's batches
/// reach a target in increasing order. The target drops any batch at or below its watermark.
/// </remarks>
internal sealed class UserPartitionWorker : PartitionWorker
{
    internal const string GrainKind = "user";

    private readonly GrainCache<UserModel> _grains = new();
    private readonly DeltaCombiner _itemSide = new();
    private readonly List<Task> _pendingDeadLetters = [];

    // Users erased since the last checkpoint: their stored rows are deleted by the next checkpoint, and until then
    // they must not be loaded from the store (the row there is the history being erased).
    private readonly HashSet<string> _erased = new(StringComparer.Ordinal);
    private readonly UserGrainOptions _grainOptions;
    private readonly string _itemTopic;
    private Task _inFlight = Task.CompletedTask;
    private IReadOnlyList<OutboxRow> _inFlightRows = [];
    private long? _ackedThrough;

    public UserPartitionWorker(TopicPartition partition, PartitionClaim claim, WorkerContext context, UserGrainOptions grainOptions, string itemTopic)
        : base(partition, claim, context, context.Loggers.CreateLogger<UserPartitionWorker>())
    {
        _grainOptions = grainOptions;
        _itemTopic = itemTopic;
    }

    /// <summary>The user's history, or null for a user with no state. Run it through <see cref="PartitionWorker.QueryAsync{T}"/>.</summary>
    public async Task<UserHistory?> GetHistoryAsync(string userId) =>
        (await ActivateAsync(userId, create: false).ConfigureAwait(false))?.GetHistory();

    /// <summary>What the recommender needs from the user (window and vector, copied), or null for a user with no
    /// state. Run it through <see cref="PartitionWorker.QueryAsync{T}"/>.</summary>
    public async Task<RecommendationInput?> GetRecommendationInputAsync(string userId) =>
        (await ActivateAsync(userId, create: false).ConfigureAwait(false))?.GetRecommendationInput();

    protected override bool HasChanges => _grains.DirtyCount > 0 || !_itemSide.IsEmpty || _pendingDeadLetters.Count > 0 || _erased.Count > 0;

    // A previous owner may have committed batches that Kafka never acknowledged: send them again, in order, before
    // anything new. Targets drop the ones they already have.
    protected override async Task InitializeAsync()
    {
        var leftovers = await WithRetryAsync(() => Context.Store.LoadOutboxAsync(Partition.Topic, Partition.Partition.Value, CancellationToken.None), "outbox load").ConfigureAwait(false);
        if (leftovers.Count == 0)
        {
            return;
        }

        await SendUntilAcknowledgedAsync(leftovers, Task.WhenAll(leftovers.Select(Produce))).ConfigureAwait(false);
        _ackedThrough = leftovers[^1].BatchEnd;
        Logger.LogInformation("Re-sent {Count} outbox batches of {Partition} up to offset {Offset}", leftovers.Count, Partition, _ackedThrough);
    }

    protected override async Task ApplyAsync(ConsumeResult<byte[]?, byte[]?> record)
    {
        Context.Stats.OnConsumed();

        // A producer's trace continues here when it sent a W3C traceparent header. Only when tracing is on (a
        // listener exists) is the header read and a span started: nothing per event otherwise.
        using var activity = RecoTelemetry.Source.HasListeners() ? StartProcessingActivity(record) : null;
        var parsed = EventRecordParser.Parse(record);
        if (parsed.Error is not null)
        {
            Context.Stats.OnInvalid();
            Logger.LogWarning("Dead-lettering {Topic}[{Partition}]@{Offset}: {Reason}", record.Topic, record.Partition.Value, record.Offset.Value, parsed.Error);
            _pendingDeadLetters.Add(Context.DeadLetters.SendAsync(record, parsed.Error));
            return;
        }

        if (parsed.IsErase)
        {
            Erase(record, parsed.UserId!);
            return;
        }

        var evt = parsed.Event!;
        var grain = (await ActivateAsync(evt.UserId, create: true).ConfigureAwait(false))!;
        grain.Apply(evt, _itemSide, Context.Snapshots.Current.Factors);
        _grains.MarkDirty(evt.UserId);
        Context.Stats.OnApplied();
    }

    // Commands are applied in log order like events, so a replay after a crash applies them at the same point.
    private void Erase(ConsumeResult<byte[]?, byte[]?> record, string userId)
    {
        // The grain leaves memory now (queries answer 404 from here on) and its row leaves the store in the next
        // checkpoint, in the same transaction as the offset past this record. The item deltas it already emitted
        // stay: item counts hold no user id, and are anonymous aggregates.
        _grains.Remove(userId);
        _erased.Add(userId);
        ActiveGrains = _grains.Count;
        Logger.LogInformation("Erased a user of {Partition} at offset {Offset}", Partition, record.Offset.Value);
    }

    private static Activity? StartProcessingActivity(ConsumeResult<byte[]?, byte[]?> record)
    {
        ActivityContext parent = default;
        if (record.Message.Headers?.TryGetLastBytes(TraceHeaders.TraceParent, out var header) == true)
        {
            _ = ActivityContext.TryParse(Encoding.ASCII.GetString(header), null, out parent);
        }

        var activity = RecoTelemetry.Source.StartActivity("reco.event.process", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.destination.partition.id", record.Partition.Value);
        activity?.SetTag("messaging.kafka.offset", record.Offset.Value);
        return activity;
    }

    protected override async Task<Checkpoint> PrepareCheckpointAsync(long nextOffset, bool final)
    {
        // Dead letters first: the checkpoint moves past their records only once Kafka holds them.
        if (_pendingDeadLetters.Count > 0)
        {
            await Task.WhenAll(_pendingDeadLetters).ConfigureAwait(false);
            _pendingDeadLetters.Clear();
        }

        // The previous batch must be acknowledged before this one commits: that keeps a source's batches in order
        // at every target and lets this checkpoint delete it from the outbox.
        await AwaitInFlightAsync().ConfigureAwait(false);

        // Encoded inside the drain: the combiner reuses its dictionaries for the next batch.
        var outbox = _itemSide.Drain(
            item => KafkaPartitioner.PartitionFor(item, Context.PartitionCount),
            (target, items) => new OutboxRow(nextOffset, target, ItemCodec.Encode(new ItemDeltaBatch(Partition.Partition.Value, nextOffset, items))));

        var writes = _grains.Dirty().Select(g => new GrainWrite(GrainKind, g.Key, UserGrainStateCodec.Encode(g.Grain.State))).ToList();
        var deletes = _erased.Select(u => new GrainKey(GrainKind, u)).ToList();
        return new Checkpoint(Partition.Topic, Partition.Partition.Value, Epoch, nextOffset, writes, Outbox: outbox, OutboxAckedThrough: _ackedThrough, Deletes: deletes);
    }

    protected override async Task OnCommittedAsync(Checkpoint checkpoint, bool final)
    {
        _grains.ClearDirty();
        _erased.Clear();
        if (checkpoint.OutboxAckedThrough is not null)
        {
            _ackedThrough = null;
        }

        if (checkpoint.Outbox is { Count: > 0 } rows)
        {
            _inFlightRows = rows;
            _inFlight = Task.WhenAll(rows.Select(Produce));
        }

        if (final)
        {
            // Hand over with nothing in flight; the rows stay in the outbox and the next owner re-sends them,
            // which the targets drop as duplicates.
            await AwaitInFlightAsync().ConfigureAwait(false);
        }
    }

    protected override void OnFenced()
    {
        _grains.Clear();
        _erased.Clear();
        _itemSide.Clear();
        ActiveGrains = 0;
    }

    protected override int EvictIdle(long usedBefore)
    {
        var evicted = _grains.EvictIdle(usedBefore);
        ActiveGrains = _grains.Count;
        return evicted;
    }

    private async Task AwaitInFlightAsync()
    {
        if (_inFlightRows.Count == 0)
        {
            return;
        }

        await SendUntilAcknowledgedAsync(_inFlightRows, _inFlight).ConfigureAwait(false);
        _ackedThrough = _inFlightRows[^1].BatchEnd;
        _inFlightRows = [];
        _inFlight = Task.CompletedTask;
    }

    // A delivery that fails (Kafka down past the producer's timeout) is sent again with the same payload until
    // Kafka takes it; the partition waits meanwhile. Duplicates are harmless: targets drop them by watermark.
    private async Task SendUntilAcknowledgedAsync(IReadOnlyList<OutboxRow> rows, Task firstAttempt)
    {
        var attempt = firstAttempt;
        for (var tries = 1; ; tries++)
        {
            try
            {
                await attempt.ConfigureAwait(false);
                return;
            }
            catch (KafkaException ex)
            {
                Logger.LogWarning(ex, "Shuffle batch of {Partition} ending at {End} not acknowledged (attempt {Attempt}); sending it again", Partition, rows[^1].BatchEnd, tries);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2_000, 100 * tries)), Context.Time).ConfigureAwait(false);
                attempt = Task.WhenAll(rows.Select(Produce));
            }
        }
    }

    private Task Produce(OutboxRow row)
    {
        Context.Stats.OnDeltaBatchSent();
        var headers = new Headers
        {
            { DeadLetters.SourcePartitionHeader, Encoding.UTF8.GetBytes(Partition.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
            { "reco-batch-end", Encoding.UTF8.GetBytes(row.BatchEnd.ToString(CultureInfo.InvariantCulture)) },
        };
        return Context.Producer.ProduceAsync(new TopicPartition(_itemTopic, row.TargetPartition), new Message<byte[]?, byte[]?> { Value = row.Payload, Headers = headers });
    }

    private async Task<UserModel?> ActivateAsync(string userId, bool create)
    {
        if (_grains.TryGet(userId, Now, out var grain))
        {
            return grain;
        }

        byte[]? stored = null;
        if (_erased.Contains(userId))
        {
            // Erased, and its row not deleted yet: that row is the erased history, so the user starts afresh.
        }
        else if (create)
        {
            // Records wait for the database (the partition pauses, it never skips); a query fails fast instead.
            stored = await WithRetryAsync(() => Context.Store.LoadGrainAsync(GrainKind, userId, CancellationToken.None), "user grain load").ConfigureAwait(false);
        }
        else
        {
            stored = await Context.Store.LoadGrainAsync(GrainKind, userId, CancellationToken.None).ConfigureAwait(false);
        }

        if (stored is null && !create)
        {
            return null;
        }

        grain = new UserModel(userId, _grainOptions, stored is null ? null : UserGrainStateCodec.Decode(stored));
        _grains.Add(userId, grain, Now);
        ActiveGrains = _grains.Count;
        Context.Stats.OnUserActivation();
        return grain;
    }


}
