using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>
/// OpenTelemetry wiring shared by silos and the gateway: our own meter and activity source, ASP.NET Core's and
/// HttpClient's built-in ones, a Prometheus scrape endpoint, and OTLP export when the standard
/// <c>OTEL_EXPORTER_OTLP_*</c> variables name an endpoint.
/// </summary>
public static class RecoTelemetry
{
    /// <summary>The meter every RecoCluster instrument belongs to.</summary>
    public const string MeterName = "RecoCluster";

    /// <summary>The name of <see cref="Source"/>.</summary>
    public const string SourceName = "RecoCluster";

    /// <summary>Spans of RecoCluster's own work (ingest, event processing).</summary>
    public static readonly ActivitySource Source = new(SourceName);

    // ASP.NET Core (request duration, by route), Kestrel and HttpClient publish these natively.
    private static readonly string[] FrameworkMeters = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http"];
    private static readonly string[] FrameworkSources = ["Microsoft.AspNetCore", "System.Net.Http"];

    // Orleans' meter (activations, messages, storage, membership, ...) and its grain-call spans. Only the
    // application source: the runtime's own sources trace every storage write and activation.
    private const string OrleansMeter = "Microsoft.Orleans";
    private const string OrleansCalls = Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName;

    /// <summary>Registers metrics (scraped at <c>/metrics</c>, see <see cref="MapMetrics"/>) and tracing.</summary>
    public static IServiceCollection AddRecoTelemetry(this IServiceCollection services, string serviceName)
    {
        var reader = new PrometheusScrapeReader();
        services.AddSingleton(reader);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(m => m.AddMeter(MeterName).AddMeter(FrameworkMeters).AddMeter(OrleansMeter).AddView(PrometheusIncompatible).AddReader(reader))
            .WithTracing(t => t.AddSource(SourceName).AddSource(FrameworkSources).AddSource(OrleansCalls).SetSampler(new TraceRootsSampler()));
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            // Endpoint, protocol, headers and intervals all come from the standard OTEL_* variables.
            telemetry.UseOtlpExporter();
        }

        return services;
    }

    // Prometheus wants base units and snake_case labels (promtool check metrics refuses the rest). Orleans records
    // its latency histograms in milliseconds and labels its message-size histograms in PascalCase; a view can rename
    // an instrument but not rescale it, so these few are left out of the export rather than exported under a
    // misleading name. The request, checkpoint and storage timings operators need come from ASP.NET Core's and our
    // own instruments, in seconds.
    private static MetricStreamConfiguration? PrometheusIncompatible(Instrument instrument) =>
        instrument.Meter.Name == OrleansMeter && (instrument.Unit == "ms" || instrument.Name.Replace('-', '_').Replace('.', '_').Contains("messages_size", StringComparison.Ordinal))
            ? MetricStreamConfiguration.Drop
            : null;

    /// <summary>Maps <c>GET /metrics</c> in the Prometheus text format.</summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/metrics", (PrometheusScrapeReader reader) => Results.Text(reader.Scrape(), PrometheusText.ContentType))
            .ExcludeFromDescription();
        return app;
    }
}
