using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>
/// OpenTelemetry wiring shared by silos and the gateway: our own meter and activity source, ASP.NET Core's,
/// Kestrel's, HttpClient's, Orleans' and the .NET runtime's instruments, OpenTelemetry's Prometheus exporter at
/// <c>/metrics</c>, and OTLP export when the standard <c>OTEL_EXPORTER_OTLP_*</c> variables name an endpoint.
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
        services.AddMetrics();
        services.TryAddSingleton<KafkaStatistics>();
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(m => m
                .AddMeter(MeterName).AddMeter(FrameworkMeters).AddMeter(OrleansMeter)
                .AddRuntimeInstrumentation()
                .AddView(ForPrometheus)
                // No response cache: Prometheus scrapes every 15 s or so, and a scrape must show what happened
                // before it (the exporter's default would answer two scrapes 300 ms apart with the same text).
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(t => t.AddSource(SourceName).AddSource(FrameworkSources).AddSource(OrleansCalls).SetSampler(new TraceRootsSampler()));
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            // Endpoint, protocol, headers and intervals all come from the standard OTEL_* variables.
            telemetry.UseOtlpExporter();
        }

        return services;
    }

    // `promtool check metrics` lints what it reads, and an exposition it refuses is one an operator's tooling may
    // mishandle. It wants base units and snake_case labels: Orleans records its latency histograms in milliseconds,
    // its memory gauges in megabytes, and labels its message-size histograms in PascalCase. A view can rename an
    // instrument but not rescale it, so these few are left out rather than exported under a misleading name (the
    // request, checkpoint and storage timings operators need come from ASP.NET Core's and our own instruments, in
    // seconds, and memory from the runtime's, in bytes). It wants "_count" only on histograms and summaries: three
    // of the runtime's gauges end in ".count" and are renamed. And it wants a HELP text on every family: Orleans
    // gives its instruments none, so they get one naming the instrument.
    // The runtime's count of bytes allocated is left out as well: on this runtime (10.0.12) with the server
    // collector's default, DATAS, it sums only the heaps active at the moment, so it drops and jumps by a heap's whole
    // history as DATAS takes heaps away and gives them back (dotnet/runtime#131069). Prometheus reads each drop as a
    // counter reset, and a rate over one shows gigabytes per second that were never allocated.
    private static MetricStreamConfiguration? ForPrometheus(Instrument instrument)
    {
        if (instrument.Meter.Name == RuntimeMeter && instrument.Name == "dotnet.gc.heap.total_allocated")
        {
            return MetricStreamConfiguration.Drop;
        }

        if (instrument.Meter.Name == OrleansMeter
            && (instrument.Unit is "ms" or "MB" || instrument.Name.Replace('-', '_').Replace('.', '_').Contains("messages_size", StringComparison.Ordinal)))
        {
            return MetricStreamConfiguration.Drop;
        }

        var name = RuntimeCounts.GetValueOrDefault(instrument.Name);
        var description = string.IsNullOrWhiteSpace(instrument.Description) ? $"{instrument.Name} ({instrument.Meter.Name})" : null;
        return name is null && description is null ? null : new MetricStreamConfiguration { Name = name, Description = description };
    }

    private const string RuntimeMeter = "System.Runtime";

    private static readonly Dictionary<string, string> RuntimeCounts = new(StringComparer.Ordinal)
    {
        ["dotnet.assembly.count"] = "dotnet.assemblies.loaded",
        ["dotnet.process.cpu.count"] = "dotnet.process.cpus",
        ["dotnet.timer.count"] = "dotnet.timers.active",
    };

    /// <summary>Maps <c>GET /metrics</c>: the Prometheus exposition, in the format the scraper asks for (the text
    /// format, or OpenMetrics).</summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPrometheusScrapingEndpoint("/metrics").ExcludeFromDescription();
        return app;
    }
}
