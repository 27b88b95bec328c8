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

namespace RecoCluster.Gateway;

/// <summary>Wiring of the gateway into an ASP.NET Core application.</summary>
public static class GatewayServices
{
    /// <summary>Longest request line Kestrel accepts. Above its 8 KiB default so that a too-long id in a path
    /// still reaches validation and gets a problem+json answer instead of Kestrel's bare 414.</summary>
    public const int MaxRequestLineBytes = 16 * 1024;

    public static IServiceCollection AddRecoGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KafkaOptions>().Bind(configuration.GetSection(KafkaOptions.Section)).ValidateOnStart();
        services.AddOptions<DirectoryOptions>().Bind(configuration.GetSection(DirectoryOptions.Section));
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section)).ValidateOnStart();
        services.AddOptions<ClusterOptions>().Bind(configuration.GetSection(ClusterOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestLineSize = MaxRequestLineBytes);
        services.AddProblemDetails();
        services.AddGatewaySecurity(configuration);
        services.AddGatewayOpenApi();
        services.AddSingleton<ClusterSecret>();
        services.AddSingleton<ClusterDirectory>();
        services.AddSingleton<EventIngest>();
        services.AddSingleton<SiloCircuitBreaker>();
        services.AddSingleton<SiloRouter>();
        services.AddHostedService<DirectoryStarter>();
        services.AddRecoTelemetry("reco-gateway");
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

    // Starts the directory reader with the host, and makes sure the first Kafka connection attempt does not
    // run inside a request.
    private sealed class DirectoryStarter(ClusterDirectory directory, EventIngest ingest) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = ingest;
            directory.Start();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
