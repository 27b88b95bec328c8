using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>
/// A pull reader for <c>GET /metrics</c>: each scrape collects the SDK's current (cumulative) values and renders
/// them with <see cref="PrometheusText"/>. Scrapes are serialized; Prometheus scrapes each target every few
/// seconds, so the lock is never contended in practice.
/// </summary>
public sealed class PrometheusScrapeReader : BaseExportingMetricReader
{
    private readonly SnapshotExporter _exporter;
    private readonly Lock _scrape = new();

    public PrometheusScrapeReader()
        : this(new SnapshotExporter())
    {
    }

    private PrometheusScrapeReader(SnapshotExporter exporter)
        : base(exporter)
    {
        _exporter = exporter;
        TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
    }

    /// <summary>Collects and renders every metric now.</summary>
    public string Scrape()
    {
        lock (_scrape)
        {
            _exporter.Output.Clear();
            return Collect(timeoutMilliseconds: 5_000) ? _exporter.Output.ToString() : throw new TimeoutException("collecting metrics timed out");
        }
    }

    // Metric points are valid only during Export, so the text is rendered right there.
    private sealed class SnapshotExporter : BaseExporter<Metric>
    {
        public StringBuilder Output { get; } = new();

        public override ExportResult Export(in Batch<Metric> batch)
        {
            var metrics = new List<Metric>();
            foreach (var metric in batch)
            {
                metrics.Add(metric);
            }

            PrometheusText.Write(metrics, Output);
            return ExportResult.Success;
        }
    }
}
