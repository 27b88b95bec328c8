using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Gateway;
using RecoCluster.Gateway.Security;
using RecoCluster.Grains;
using RecoCluster.Silo;
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
        ["--advertised-url"] = "Reco:Silo:AdvertisedUrl",
        ["--bootstrap-file"] = "Reco:Kafka:BootstrapFile",
        ["--brokers"] = "Reco:Kafka:Brokers",
    };

    public static WebApplication BuildSilo(string[] args, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = CreateBuilder(args, overrides, defaultUrls: "http://127.0.0.1:0");
        builder.Services.AddRecoSilo(builder.Configuration);
        var app = builder.Build();
        ValidateAll(
            app.Services,
            sp => sp.GetRequiredService<IOptions<KafkaOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<SiloOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<UserGrainOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<ClusterOptions>>().Value);
        return app.MapRecoSilo();
    }

    public static WebApplication BuildGateway(string[] args, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = CreateBuilder(args, overrides, defaultUrls: "http://127.0.0.1:8080");
        builder.Services.AddRecoGateway(builder.Configuration);
        var app = builder.Build();
        ValidateAll(
            app.Services,
            sp => sp.GetRequiredService<IOptions<KafkaOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<GatewayOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<GatewayAuthOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<GatewayRateLimitOptions>>().Value,
            sp => sp.GetRequiredService<IOptions<ClusterOptions>>().Value);
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
        var failures = new List<string>();
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
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
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
