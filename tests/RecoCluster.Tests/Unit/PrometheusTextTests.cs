using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using RecoCluster.Cluster.Telemetry;

namespace RecoCluster.Tests.Unit;

/// <summary>The Prometheus exposition rendered from real SDK metrics (a private meter and a pull reader).</summary>
public sealed class PrometheusTextTests : IDisposable
{
    private readonly string _meterName = $"test.{Guid.NewGuid():N}";
    private readonly Meter _meter;
    private readonly PrometheusScrapeReader _reader = new();
    private readonly MeterProvider _provider;

    public PrometheusTextTests()
    {
        _meter = new Meter(_meterName);
        _provider = Sdk.CreateMeterProviderBuilder().AddMeter(_meterName).AddReader(_reader).Build();
    }

    public void Dispose()
    {
        _provider.Dispose();
        _meter.Dispose();
    }

    [Theory]
    [InlineData("reco_events_consumed", "{event}", true, "reco_events_consumed_total")]
    [InlineData("reco_checkpoint_duration", "s", false, "reco_checkpoint_duration_seconds")]
    [InlineData("http.server.request.duration", "s", false, "http_server_request_duration_seconds")]
    [InlineData("already_seconds", "s", false, "already_seconds")]
    [InlineData("already_total", "1", true, "already_total")]
    [InlineData("body.size", "By", false, "body_size_bytes")]
    [InlineData("9lives-metric", null, false, "_lives_metric")]
    public void Names_follow_the_prometheus_compatibility_rules(string instrument, string? unit, bool monotonic, string expected) =>
        Assert.Equal(expected, PrometheusText.FamilyName(instrument, unit, monotonic));

    [Fact]
    public void Counters_gauges_and_labels_render_with_help_type_and_escaping()
    {
        var counter = _meter.CreateCounter<long>("reco_things", "{thing}", "Things seen.\nSecond line \\ backslash");
        counter.Add(3, new KeyValuePair<string, object?>("kind", "user"));
        counter.Add(4, new KeyValuePair<string, object?>("kind", "item"));
        counter.Add(1, new KeyValuePair<string, object?>("kind", "user"));
        _meter.CreateObservableGauge("reco_lag", () => new Measurement<long>(42, new("topic", "reco.events"), new("partition", 3), new("note", "a \"quoted\"\nvalue")), "{record}", "Lag.");

        var lines = _reader.Scrape().Split('\n');

        Assert.Contains("# HELP reco_things_total Things seen.\\nSecond line \\\\ backslash", lines);
        Assert.Contains("# TYPE reco_things_total counter", lines);
        Assert.Contains("reco_things_total{kind=\"user\"} 4", lines);
        Assert.Contains("reco_things_total{kind=\"item\"} 4", lines);
        Assert.Contains("# TYPE reco_lag gauge", lines);
        // Labels sorted by key, values escaped.
        Assert.Contains("reco_lag{note=\"a \\\"quoted\\\"\\nvalue\",partition=\"3\",topic=\"reco.events\"} 42", lines);
        Assert.True(Array.IndexOf(lines, "# TYPE reco_things_total counter") < Array.IndexOf(lines, "reco_things_total{kind=\"user\"} 4"));
    }

    [Fact]
    public void Histograms_render_cumulative_buckets_sum_and_count()
    {
        var histogram = _meter.CreateHistogram<double>("reco_wait", "s", "Waits.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 1] });
        foreach (var value in new[] { 0.005, 0.05, 0.05, 0.5, 5 })
        {
            histogram.Record(value);
        }

        var lines = _reader.Scrape().Split('\n');

        Assert.Contains("# TYPE reco_wait_seconds histogram", lines);
        Assert.Contains("reco_wait_seconds_bucket{le=\"0.01\"} 1", lines);
        Assert.Contains("reco_wait_seconds_bucket{le=\"0.1\"} 3", lines);
        Assert.Contains("reco_wait_seconds_bucket{le=\"1\"} 4", lines);
        Assert.Contains("reco_wait_seconds_bucket{le=\"+Inf\"} 5", lines);
        Assert.Contains("reco_wait_seconds_sum 5.605", lines);
        Assert.Contains("reco_wait_seconds_count 5", lines);
    }

    [Fact]
    public void Counters_are_cumulative_across_scrapes()
    {
        var counter = _meter.CreateCounter<long>("reco_ticks");
        counter.Add(2);
        Assert.Contains("reco_ticks_total 2", _reader.Scrape().Split('\n'));
        counter.Add(5);
        Assert.Contains("reco_ticks_total 7", _reader.Scrape().Split('\n'));
    }
}
