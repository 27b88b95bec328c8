using System.Diagnostics.Metrics;
using RecoCluster.Cluster.Telemetry;

namespace RecoCluster.Silo.Runtime;

/// <summary>
/// The silo's OpenTelemetry instruments. Counters are observed from <see cref="SiloStats"/>, which the hot path
/// already maintains with one interlocked increment per event, so metrics add nothing per event; gauges are read
/// from the partition workers at collection time.
/// </summary>
public sealed class SiloMetrics : IDisposable
{
    private readonly Meter _meter;

    public SiloMetrics(SiloRuntime runtime, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(runtime);
        _meter = new Meter(RecoTelemetry.MeterName);
        var stats = runtime.Stats;

        _meter.CreateObservableCounter("reco_events_consumed", () => stats.Consumed, "{event}", "Records read from the events topic.");
        _meter.CreateObservableCounter("reco_events_applied", () => stats.Applied, "{event}", "Valid events applied to user grains.");
        _meter.CreateObservableCounter("reco_events_invalid", () => stats.Invalid, "{event}", "Records sent to the dead-letter topic.");
        _meter.CreateObservableCounter(
            "reco_grain_activations",
            () => new[]
            {
                new Measurement<long>(stats.UserActivations, new KeyValuePair<string, object?>("kind", "user")),
                new Measurement<long>(stats.ItemActivations, new KeyValuePair<string, object?>("kind", "item")),
            },
            "{activation}",
            "Grains loaded into memory (first use, or use after idle deactivation).");
        _meter.CreateObservableCounter("reco_grain_deactivations", () => stats.Deactivations, "{deactivation}", "Idle grains dropped from memory.");
        _meter.CreateObservableCounter("reco_checkpoints", () => stats.Checkpoints, "{checkpoint}", "Checkpoint transactions committed.");
        _meter.CreateObservableCounter(
            "reco_fencing_violations",
            () => stats.FencingViolations,
            "{checkpoint}",
            "Checkpoints refused because another silo had claimed the partition; anything above 0 needs a look.");
        _meter.CreateObservableCounter("reco_backpressure_pauses", () => stats.Pauses, "{pause}", "Times a partition's fetching was paused because its queue was full.");
        _meter.CreateObservableCounter("reco_shuffle_batches_sent", () => stats.DeltaBatchesSent, "{batch}", "Item-delta batches produced (re-sends included).");
        _meter.CreateObservableCounter("reco_shuffle_batches_duplicate", () => stats.DuplicateBatchesDropped, "{batch}", "Item-delta batches dropped at the watermark (re-sends).");

        _meter.CreateObservableGauge(
            "reco_consumer_lag",
            () => runtime.Workers.Select(w => new Measurement<long>(w.Lag, PartitionTags(w))),
            "{record}",
            "Records in the log not yet applied, per owned partition.");
        _meter.CreateObservableGauge(
            "reco_checkpoint_age",
            () => runtime.Workers.Select(w => new Measurement<double>(w.UncheckpointedAge.TotalSeconds, PartitionTags(w))),
            "s",
            "How long applied events have waited for a checkpoint, per owned partition (0 when all is stored).");
        _meter.CreateObservableGauge("reco_owned_partitions", () => runtime.Workers.Count(), "{partition}", "Partitions this silo owns (events and item-deltas).");
        _meter.CreateObservableGauge("reco_snapshot_version", () => runtime.Snapshots.Current.Version, "{version}", "The neighborhood snapshot version this silo serves (0: none yet).");
        _meter.CreateObservableGauge(
            "reco_snapshot_age",
            () => runtime.Snapshots.Current.Version == 0 ? 0 : (time.GetUtcNow() - runtime.Snapshots.Current.BuiltAt).TotalSeconds,
            "s",
            "Time since the served snapshot's round completed (0 before the first): rounds are not completing if it keeps growing.");
        _meter.CreateObservableGauge("reco_batch_grain_host", () => runtime.BatchGrain is null ? 0 : 1, "1", "1 on the silo that hosts the neighborhood batch grain.");
        _meter.CreateObservableGauge("reco_silo_ready", () => runtime.IsReady ? 1 : 0, "1", "1 once every assigned partition is loaded.");

        var checkpointDuration = _meter.CreateHistogram<double>(
            "reco_checkpoint_duration",
            "s",
            "Duration of checkpoint transactions.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        stats.CheckpointObserver = d => checkpointDuration.Record(d.TotalSeconds);
    }

    public void Dispose() => _meter.Dispose();

    private static KeyValuePair<string, object?>[] PartitionTags(PartitionWorker worker) =>
    [
        new("topic", worker.Partition.Topic),
        new("partition", worker.Partition.Partition.Value),
    ];
}
