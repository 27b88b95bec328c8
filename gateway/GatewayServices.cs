using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Gateway.Endpoints;
using RecoCluster.Gateway.Ingest;
using RecoCluster.Gateway.OpenApi;
using RecoCluster.Gateway.Routing;
using RecoCluster.Gateway.Security;
using RecoCluster.Gateway.Serving;

namespace RecoCluster.Gateway;

/// <summary>Wiring of the gateway into an ASP.NET Core application.</summary>
public static class GatewayServices
{
    /// <summary>Longest request line Kestrel accepts. Above its 8 KiB default so that a too-long id in a path
    /// still reaches validation and gets a problem+json answer instead of Kestrel's bare 414.</summary>
    public const int MaxRequestLineBytes = 16 * 1024;

    /// <summary>The gateway's endpoints, validation, security, ingest to Kafka and telemetry; its reads go to the
    /// <see cref="IClusterBackend"/> that <see cref="AddGrainBackend"/> (or, on the first runtime,
    /// <see cref="AddSiloHttpBackend"/>) adds.</summary>
    public static IServiceCollection AddRecoGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KafkaOptions>().Bind(configuration.GetSection(KafkaOptions.Section)).ValidateOnStart();
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestLineSize = MaxRequestLineBytes);
        services.AddProblemDetails();
        services.AddGatewaySecurity(configuration);
        services.AddGatewayOpenApi();
        services.AddSingleton<EventIngest>();
        services.AddHostedService<IngestStarter>();
        services.AddRecoTelemetry("reco-gateway");
        return services;
    }

    /// <summary>Reads through Orleans: the host adds the Orleans client (<c>UseOrleansClient</c>), whose grain
    /// factory this uses.</summary>
    public static IServiceCollection AddGrainBackend(this IServiceCollection services)
    {
        services.AddSingleton<IClusterBackend, GrainBackend>();
        return services;
    }

    /// <summary>Reads over the first runtime's internal HTTP API, routed by its directory topic. Goes with that
    /// runtime.</summary>
    public static IServiceCollection AddSiloHttpBackend(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DirectoryOptions>().Bind(configuration.GetSection(DirectoryOptions.Section));
        services.AddOptions<ClusterOptions>().Bind(configuration.GetSection(ClusterOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>());
        services.AddSingleton<ClusterSecret>();
        services.AddSingleton<ClusterDirectory>();
        services.AddSingleton<SiloCircuitBreaker>();
        services.AddSingleton<SiloRouter>();
        services.AddSingleton<IClusterBackend, SiloHttpBackend>();
        services.AddHostedService<DirectoryStarter>();
        // One pooled client for all silo calls: connections are reused across requests and silos. Every call
        // carries the cluster secret, without which silos refuse their internal endpoint.
        services.AddSingleton(sp =>
        {
            var http = new HttpClient(new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxConnectionsPerServer = 256,
                AutomaticDecompression = DecompressionMethods.None,
                ConnectTimeout = TimeSpan.FromSeconds(1),
            })
            {
                Timeout = Timeout.InfiniteTimeSpan, // per-attempt timeouts come from the router's deadline
            };
            http.DefaultRequestHeaders.Add(ClusterSecret.Header, sp.GetRequiredService<ClusterSecret>().Value);
            return http;
        });
        return services;
    }

    public static WebApplication MapRecoGateway(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseStrictPathEncoding();
        app.UseGatewaySecurity();
        app.MapHealthEndpoints();
        app.MapEventsEndpoints();
        app.MapUsersEndpoints();
        app.MapAdminEndpoints();
        app.MapRecommendationsEndpoints();
        app.MapCatalogEndpoints();
        app.MapGatewayOpenApi();
        app.MapMetrics();
        return app;
    }

    // Makes sure the first Kafka connection attempt does not run inside a request.
    private sealed class IngestStarter(EventIngest ingest) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = ingest;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    // Starts the first runtime's directory reader with the host.
    private sealed class DirectoryStarter(ClusterDirectory directory) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            directory.Start();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
