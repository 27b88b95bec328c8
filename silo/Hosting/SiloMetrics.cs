using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Grains.Algorithms;

namespace RecoCluster.Silo.Hosting;

/// <summary>
/// The project's own instruments on an Orleans silo: what its partition ingresses read, apply and checkpoint, how
/// far behind each partition is, the snapshot it serves and whether it is ready. Orleans' own meter
/// (<c>Microsoft.Orleans</c>: activations, messaging, storage, membership) is exported beside them.
/// </summary>
/// <remarks>
/// Counters move once per batch (an ingress adds a batch's totals when its checkpoint is stored), never per event,
/// so metrics add nothing to the per-event path; a batch that is retried is counted once. Gauges are read at
/// collection time from the partitions this silo's ingresses are reading now (<see cref="Track"/>): a partition
/// that moves shows on its new silo only.
/// </remarks>
public sealed class SiloMetrics : IDisposable
{
    private static readonly double[] DurationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<int, PartitionProgress> _partitions = new();
    private readonly Counter<long> _consumed;
    private readonly Counter<long> _applied;
    private readonly Counter<long> _invalid;
    private readonly Counter<long> _checkpoints;
    private readonly Counter<long> _fenced;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _checkpointDuration;
    private readonly Counter<long> _written;
    private readonly Counter<long> _itemsForgotten;

    public SiloMetrics(IMeterFactory meters, string eventsTopic, SnapshotHolder snapshots, Func<bool> ready, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(ready);
        ArgumentNullException.ThrowIfNull(time);
        _meter = meters.Create(RecoTelemetry.MeterName);
        _consumed = _meter.CreateCounter<long>("reco_events_consumed", "{event}", "Records of the events topic in checkpointed batches (invalid ones included).");
        _applied = _meter.CreateCounter<long>("reco_events_applied", "{event}", "Valid events applied to their users and items and checkpointed.");
        _invalid = _meter.CreateCounter<long>("reco_events_invalid", "{event}", "Records sent to the dead-letter topic.");
        _checkpoints = _meter.CreateCounter<long>("reco_checkpoints", "{checkpoint}", "Batches checkpointed (both sides stored, the partition's offset moved).");
        _fenced = _meter.CreateCounter<long>(
            "reco_fencing_violations",
            "{checkpoint}",
            "Checkpoints refused because a newer reader had claimed the partition; a few during a move are expected, a steady rate is not.");
        _failures = _meter.CreateCounter<long>("reco_batch_failures", "{batch}", "Batch attempts that failed (storage or a grain call) and are retried as they were.");
        _checkpointDuration = _meter.CreateHistogram(
            "reco_checkpoint_duration",
            "s",
            "Time from cutting a batch to its stored checkpoint: the user side, the item side, the commit, and any retries.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

        _itemsForgotten = _meter.CreateCounter<long>(
            "reco_items_forgotten",
            "{item}",
            "Stored items an item shard dropped from memory to stay within its share of Reco:Items:SiloMemoryMiB (loaded again when needed).");

        _written = _meter.CreateCounter<long>(
            "reco_storage_written",
            "By",
            "Payload bytes stored, by what they hold (kind: user, item_side, item, item_log): per applied event, what the database is asked to write.");

        // Counters an alert watches exist from the start, at 0: an alert on a series that does not exist yet
        // watches nothing, and rate() needs a first sample to count the first increment.
        _invalid.Add(0);
        _fenced.Add(0);
        _failures.Add(0);

        _meter.CreateObservableGauge(
            "reco_consumer_lag",
            () => _partitions.Values.Select(p => new Measurement<long>(p.Lag, Tags(eventsTopic, p.Partition))),
            "{record}",
            "Records in the log past the partition's checkpoint, per partition this silo reads.");
        _meter.CreateObservableGauge(
            "reco_checkpoint_age",
            () => _partitions.Values.Select(p => new Measurement<double>(p.PendingSeconds(time), Tags(eventsTopic, p.Partition))),
            "s",
            "How long the batch in hand has waited for its checkpoint, per partition this silo reads (0 when none is).");
        _meter.CreateObservableGauge(
            "reco_ingress_blocked",
            () => _partitions.Values.Select(p => new Measurement<int>(p.Blocked ? 1 : 0, Tags(eventsTopic, p.Partition))),
            "1",
            "1 while a partition's stored position is outside the log and nothing is read from it (docs/operations.md).");
        _meter.CreateObservableGauge("reco_ingress_partitions", () => _partitions.Count, "{partition}", "Events partitions this silo reads.");
        _meter.CreateObservableGauge("reco_snapshot_version", () => snapshots.Current.Version, "{version}", "The neighborhood snapshot version this silo serves (0: none yet).");
        _meter.CreateObservableGauge(
            "reco_snapshot_age",
            () => snapshots.Current.Version == 0 ? 0 : (time.GetUtcNow() - snapshots.Current.BuiltAt).TotalSeconds,
            "s",
            "Time since the served snapshot's round completed (0 before the first): rounds are not completing if it keeps growing.");
        _meter.CreateObservableGauge("reco_silo_ready", () => ready() ? 1 : 0, "1", "1 while the silo is an active member and no partition's ingress is blocked.");
    }

    /// <summary>Starts reporting <paramref name="progress"/>'s partition from this silo (an ingress activated here).</summary>
    public void Track(PartitionProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        _partitions[progress.Partition] = progress;
    }

    /// <summary>Stops reporting it, unless a newer activation of the same partition has taken its place.</summary>
    public void Untrack(PartitionProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        _partitions.TryRemove(new KeyValuePair<int, PartitionProgress>(progress.Partition, progress));
    }

    /// <summary>A batch's checkpoint is stored.</summary>
    public void Checkpointed(int records, long events, int invalid, TimeSpan duration)
    {
        _consumed.Add(records);
        _applied.Add(events);
        _invalid.Add(invalid);
        _checkpoints.Add(1);
        _checkpointDuration.Record(duration.TotalSeconds);
    }

    /// <summary>Payloads stored: a batch's users and its item side (by its ingress), a write's items whole and its
    /// log entries (by an item shard).</summary>
    public void Stored(StoredKind kind, long bytes) => _written.Add(bytes, new KeyValuePair<string, object?>("kind", KindNames[(int)kind]));

    /// <summary>A checkpoint was refused: another reader claimed the partition.</summary>
    public void Fenced() => _fenced.Add(1);

    /// <summary>An item shard forgot <paramref name="items"/> stored items to stay within its memory share.</summary>
    public void ItemsForgotten(long items)
    {
        if (items > 0)
        {
            _itemsForgotten.Add(items);
        }
    }

    /// <summary>A batch attempt failed and will be retried.</summary>
    public void BatchFailed() => _failures.Add(1);

    public void Dispose() => _meter.Dispose();

    private static readonly string[] KindNames = ["user", "item_side", "item", "item_log"];

    private static KeyValuePair<string, object?>[] Tags(string topic, int partition) => [new("topic", topic), new("partition", partition)];
}

/// <summary>What a stored payload holds (<see cref="SiloMetrics.Stored"/>).</summary>
public enum StoredKind
{
    /// <summary>A user's state, stored with its batch.</summary>
    User,

    /// <summary>A batch's combined item side, stored with its users.</summary>
    ItemSide,

    /// <summary>An item written whole by its shard.</summary>
    Item,

    /// <summary>An item's change appended to its log by its shard.</summary>
    ItemLog,
}
