using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using RecoCluster.Cluster.Telemetry;

namespace RecoCluster.Bench.Ingest;

/// <summary>
/// Sums the silo's <c>reco_storage_written</c> counter by kind while it lives: the payload bytes an in-process silo
/// asked its database to write. Unlike a rate on a shared two-core machine, it does not move with the load, so it
/// shows what a change to the stored forms did exactly.
/// </summary>
public sealed class StoredBytes : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _byKind = new(StringComparer.Ordinal);

    public StoredBytes()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RecoTelemetry.MeterName && instrument.Name == "reco_storage_written")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "kind" && tag.Value is string kind)
                {
                    _byKind.AddOrUpdate(kind, value, (_, sum) => sum + value);
                }
            }
        });
        _listener.Start();
    }

    /// <summary>Bytes stored so far, by kind (user, item_side, item, item_log).</summary>
    public IReadOnlyDictionary<string, long> ByKind => new SortedDictionary<string, long>(_byKind, StringComparer.Ordinal);

    public void Dispose() => _listener.Dispose();
}
