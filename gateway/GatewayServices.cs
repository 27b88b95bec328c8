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
    /// <see cref="IClusterBackend"/> that <see cref="AddGrainBackend"/> adds.</summary>
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
        services.AddSingleton<ProducedPositions>();
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
}
