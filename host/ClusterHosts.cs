using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Gateway;
using RecoCluster.Gateway.Security;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Silo.Hosting;
using RecoCluster.Silo.Ingress;
using RecoCluster.Silo.Items;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Host;

/// <summary>Builds the silo and gateway applications, the same way for <c>./reco</c> processes and for the
/// in-process test cluster, so tests run what users run.</summary>
public static class ClusterHosts
{
    /// <summary>Short command-line flags, mapped to configuration keys.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--bootstrap"] = "Reco:Kafka:BootstrapServers",
        ["--topic-prefix"] = "Reco:Kafka:TopicPrefix",
        ["--partitions"] = "Reco:Kafka:Partitions",
        ["--storage"] = "Reco:Storage:Provider",
        ["--connection-string"] = "Reco:Storage:ConnectionString",
        ["--silo-id"] = "Reco:Silo:Id",
        ["--clustering"] = "Reco:Orleans:Clustering",
        ["--silo-port"] = "Reco:Orleans:SiloPort",
        ["--gateway-port"] = "Reco:Orleans:GatewayPort",
        ["--primary-silo-port"] = "Reco:Orleans:PrimarySiloPort",
        ["--cluster-id"] = "Reco:Orleans:ClusterId",
        ["--advertised-address"] = "Reco:Orleans:AdvertisedAddress",
        ["--bootstrap-file"] = "Reco:Kafka:BootstrapFile",
        ["--brokers"] = "Reco:Kafka:Brokers",
    };

    /// <summary>Where a silo serves the Orleans dashboard.</summary>
    public const string DashboardPath = "/dashboard";

    /// <summary>A silo: an Orleans silo with the project's grains, storage and partition ingresses, plus Kestrel for
    /// <c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c> and the Orleans dashboard at <c>/dashboard/</c>.</summary>
    /// <remarks>The silo's HTTP port is for the cluster's network only (probes, Prometheus, an operator's
    /// port-forward); the dashboard has no key of its own and must stay there (docs/operations.md). Its live log
    /// stream is off, and it profiles grain calls only while somebody looks at it (Orleans' default).</remarks>
    public static WebApplication BuildSilo(string[] args, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = CreateBuilder(args, overrides, defaultUrls: "http://127.0.0.1:0");
        var configuration = builder.Configuration;
        builder.UseOrleans(silo =>
        {
            silo.UseRecoCluster(configuration).AddRecoGrains(configuration);
            silo.AddDashboard(o => o.HideTrace = true);
            if (configuration["Reco:Silo:Id"] is { Length: > 0 } name)
            {
                silo.Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = name);
            }
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddRecoTelemetry("reco-silo");
        var app = builder.Build();
        ValidateAll(
            app.Services,
            sp => sp.GetRequiredService<IOptions<KafkaOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<IngressOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<ItemShardOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<UserGrainOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<NeighborhoodOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<RecommenderOptions>>().Value);
        // A silo's Kafka clients start inside grains, where a bad address would only be logged: check it here.
        KafkaClientSettings.RequireAddress(app.Services.GetRequiredService<IOptions<KafkaOptions>>().Value);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapSiloHealthEndpoints();
        app.MapMetrics();
        app.MapOrleansDashboard(routePrefix: DashboardPath);
        return app;
    }

    /// <summary>The gateway: the public HTTP API, producing to Kafka and reading through an Orleans client.</summary>
    public static WebApplication BuildGateway(string[] args, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = CreateBuilder(args, overrides, defaultUrls: "http://127.0.0.1:8080");
        var configuration = builder.Configuration;
        builder.Services.AddRecoGateway(configuration);
        builder.Services.AddGrainBackend();
        builder.UseOrleansClient(client => client.UseRecoCluster(configuration).AddGrainCallTracing());
        builder.Services.AddSingleton<IClientConnectionRetryFilter, ClusterConnectionRetry>();
        // Kestrel starts beside the Orleans client, not after it: the client's start waits (and retries) until a silo
        // answers, and meanwhile the gateway must answer its probes and take events, which need only Kafka. Queries
        // answer 503 until the client is connected, as they do whenever no silo can take a call.
        builder.Services.Configure<HostOptions>(o => o.ServicesStartConcurrently = true);
        // A query that finds no answer within the route deadline gets a 503 with Retry-After rather than Orleans'
        // default 30 s wait (a rebuild has a longer timeout of its own).
        builder.Services.AddOptions<Orleans.Configuration.ClientMessagingOptions>().Configure<IOptions<GatewayOptions>>((o, gateway) =>
            o.ResponseTimeout = TimeSpan.FromMilliseconds(gateway.Value.RouteDeadlineMs));

        var app = builder.Build();
        ValidateAll(
            app.Services,
            sp => sp.GetRequiredService<IOptions<KafkaOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<GatewayOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<GatewayAuthOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<GatewayRateLimitOptions>>().Value);
        return app.MapRecoGateway();
    }

    /// <summary>The configuration sources of every process, lowest precedence first: the shipped annotated
    /// appsettings.json, environment variables, command-line flags, then <paramref name="overrides"/>.</summary>
    public static IConfigurationBuilder AddRecoSources(this IConfigurationBuilder configuration, string[] args, IEnumerable<KeyValuePair<string, string?>>? overrides)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.AddCommandLine(args, SwitchMappings.ToDictionary());
        if (overrides is not null)
        {
            configuration.AddInMemoryCollection(overrides);
        }

        return configuration;
    }

    // Every section is checked before the host starts, and every failure is reported at once: a user fixing
    // settings one start at a time is a user wasting an afternoon.
    private static void ValidateAll(IServiceProvider services, params Func<IServiceProvider, object>[] reads)
    {
        var failures = RemovedSettings.Failures(services.GetRequiredService<IConfiguration>()).ToList();
        foreach (var read in reads)
        {
            try
            {
                read(services);
            }
            catch (OptionsValidationException ex)
            {
                failures.AddRange(ex.Failures);
            }
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException("Reco", typeof(ClusterHosts), failures);
        }
    }

    private static WebApplicationBuilder CreateBuilder(string[] args, IEnumerable<KeyValuePair<string, string?>>? overrides, string defaultUrls)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // The annotated defaults ship next to the executable; data paths stay relative to the working directory.
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddRecoSources(args, overrides);
        // Kestrel's own endpoint configuration (Kestrel:Endpoints, how HTTPS with a certificate file is set) wins over
        // URLs anyway; leaving the default out spares the warning that it was overridden.
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"])
            && !builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            builder.WebHost.UseUrls(defaultUrls);
        }

        // Logging:Console:FormatterName picks the format: "simple" (one line per entry, for people) or "json" (one
        // object per line with the structured state, for log shippers). Levels per category: Logging:LogLevel.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();
        builder.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });
        return builder;
    }
}
