using RecoCluster.Silo.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Catalog;
using RecoCluster.Silo.Neighborhoods;
using RecoCluster.Silo.Runtime;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo;

/// <summary>Wiring of a silo into an ASP.NET Core application.</summary>
public static class SiloServices
{
    public static IServiceCollection AddRecoSilo(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KafkaOptions>().Bind(configuration.GetSection(KafkaOptions.Section)).ValidateOnStart();
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateOnStart();
        services.AddOptions<SiloOptions>().Bind(configuration.GetSection(SiloOptions.Section)).ValidateOnStart();
        services.AddOptions<DirectoryOptions>().Bind(configuration.GetSection(DirectoryOptions.Section));
        services.AddOptions<ClusterOptions>().Bind(configuration.GetSection(ClusterOptions.Section)).ValidateOnStart();
        services.AddOptions<UserGrainOptions>().Bind(configuration.GetSection("Reco:Grains:User")).ValidateOnStart();
        services.AddOptions<NeighborhoodOptions>().Bind(configuration.GetSection(NeighborhoodOptions.Section)).ValidateOnStart();
        services.AddOptions<RecommenderOptions>().Bind(configuration.GetSection(RecommenderOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NeighborhoodOptions>, NeighborhoodOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecommenderOptions>, RecommenderOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UserGrainOptions>, UserGrainOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SiloOptions>, SiloOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>());
        services.AddSingleton<ClusterSecret>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddSingleton(sp => GrainStore.Open(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton<SiloStats>();
        services.AddSingleton<SiloEndpointAddress>();
        services.AddSingleton<SnapshotHolder>();
        services.AddSingleton<ItemCatalog>();
        services.AddSingleton<SiloRuntime>();
        services.AddHostedService(sp => sp.GetRequiredService<SiloRuntime>());
        services.AddSingleton<SnapshotLoader>();
        services.AddSingleton<RoundParticipant>();
        services.AddHostedService(sp => sp.GetRequiredService<RoundParticipant>());
        services.AddSingleton<CatalogReader>();
        services.AddHostedService(sp => sp.GetRequiredService<CatalogReader>());
        services.AddSingleton<SiloMetrics>();
        services.AddRecoTelemetry("reco-silo");
        return services;
    }

    public static WebApplication MapRecoSilo(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapSiloEndpoints();
        app.MapMetrics();
        _ = app.Services.GetRequiredService<SiloMetrics>(); // instruments exist from the start
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var options = app.Services.GetRequiredService<IOptions<SiloOptions>>().Value;
            var address = app.Services.GetRequiredService<SiloEndpointAddress>();
            address.Set(!string.IsNullOrEmpty(options.AdvertisedUrl) ? options.AdvertisedUrl : BoundUrl(app));
        });
        return app;
    }

    // The first address Kestrel bound, with a wildcard host made reachable from this machine.
    private static string BoundUrl(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var first = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.First();
        var uri = new UriBuilder(first);
        if (uri.Host is "0.0.0.0" or "[::]" or "::" or "+" or "*" or "localhost")
        {
            uri.Host = "127.0.0.1";
        }

        return uri.Uri.ToString();
    }
}
