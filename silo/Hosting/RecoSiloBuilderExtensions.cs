using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Hosting;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Catalog;
using RecoCluster.Grains.Model;
using RecoCluster.Silo.Ingress;
using RecoCluster.Silo.Items;
using RecoCluster.Silo.Neighborhoods;
using RecoCluster.Silo.Serving;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Hosting;

/// <summary>Wiring of the project's grains, their storage, the partition ingresses, the neighborhood rounds and
/// serving into an Orleans silo.</summary>
public static class RecoSiloBuilderExtensions
{
    /// <summary>Adds the storage over <c>Reco:Storage</c> (<c>GrainStore</c>, and the group-commit grain
    /// storage over it for the round grain's state), one ingress per events partition of <c>Reco:Kafka</c> (holding
    /// its users), the item shards, the neighborhood round grain, and what serving reads on every silo (the snapshot
    /// follower and the catalog reader).</summary>
    public static ISiloBuilder AddRecoGrains(this ISiloBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var services = builder.Services;
        services.AddOptions<KafkaOptions>().Bind(configuration.GetSection(KafkaOptions.Section)).ValidateOnStart();
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateOnStart();
        services.AddOptions<UserGrainOptions>().Bind(configuration.GetSection("Reco:Grains:User")).ValidateOnStart();
        services.AddOptions<IngressOptions>().Bind(configuration.GetSection(IngressOptions.Section)).ValidateOnStart();
        services.AddOptions<ItemShardOptions>().Bind(configuration.GetSection(ItemShardOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UserGrainOptions>, UserGrainOptionsValidator>());
        services.AddOptions<NeighborhoodOptions>().Bind(configuration.GetSection(NeighborhoodOptions.Section)).ValidateOnStart();
        services.AddOptions<RecommenderOptions>().Bind(configuration.GetSection(RecommenderOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IngressOptions>, IngressOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ItemShardOptions>, ItemShardOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NeighborhoodOptions>, NeighborhoodOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecommenderOptions>, RecommenderOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => GrainStore.Open(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SchemaMigration>();
        var clustering = RecoClustering.Read(configuration);
        if (clustering.Clustering == OrleansClustering.AdoNet && clustering.ConnectionString != configuration["Reco:Storage:ConnectionString"])
        {
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(new MembershipSchemaMigration(clustering.ConnectionString!));
        }

        services.TryAddSingleton<GrainStateSerializer>();
        services.AddGrainStorage(GrainStorageNames.Grains, (sp, _) => new GroupCommitGrainStorage(
            sp.GetRequiredService<GrainStore>(),
            sp.GetRequiredService<GrainStateSerializer>(),
            sp.GetRequiredService<ILogger<GroupCommitGrainStorage>>()));
        services.TryAddSingleton<IProducer<byte[]?, byte[]?>>(sp =>
            new ProducerBuilder<byte[]?, byte[]?>(KafkaClientSettings.ReliableProducer(sp.GetRequiredService<IOptions<KafkaOptions>>().Value, "silo"))
                .SetStatisticsHandler((_, json) => sp.GetRequiredService<KafkaStatistics>().Record(json))
                .Build());
        services.TryAddSingleton(sp => new DeadLetters(
            sp.GetRequiredService<IProducer<byte[]?, byte[]?>>(),
            sp.GetRequiredService<IOptions<KafkaOptions>>().Value.Topics.DeadLetters));
        // Grain calls that belong to a trace carry its context, so a query's trace goes from the gateway into the
        // grains; the ingress's calls, outside any trace, cost nothing for it.
        builder.AddGrainCallTracing();
        builder.AddPlacementDirector<PartitionSpreadPlacement, PartitionSpreadPlacementDirector>();
        builder.AddPlacementDirector<SiloPinnedPlacement, SiloPinnedPlacementDirector>();
        services.AddMetrics();
        services.TryAddSingleton<KafkaStatistics>();
        services.AddSingleton<PartitionReaders>();
        services.AddSingleton<IngressMemoryBudget>();
        services.AddSingleton<ItemMemoryBudget>();
        services.AddSingleton<KafkaProbe>();
        services.AddSingleton<GrainKeeper>();
        services.AddMetrics();
        services.AddSingleton(sp =>
        {
            var membership = sp.GetRequiredService<IClusterMembershipService>();
            var self = sp.GetRequiredService<ILocalSiloDetails>();
            var keeper = sp.GetRequiredService<GrainKeeper>();
            return new SiloMetrics(
                sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
                sp.GetRequiredService<IOptions<KafkaOptions>>().Value.Topics.Events,
                sp.GetRequiredService<SnapshotHolder>(),
                () => membership.CurrentSnapshot.GetSiloStatus(self.SiloAddress) == SiloStatus.Active && keeper.LastStatuses.All(s => s.Blocked is null),
                sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<GrainKeeper>());
        services.TryAddSingleton<SnapshotHolder>();
        services.TryAddSingleton<ItemIdTable>();
        services.TryAddSingleton<ItemCatalog>();
        services.AddSingleton<CatalogReader>();
        services.AddHostedService(sp => sp.GetRequiredService<CatalogReader>());
        services.AddSingleton<SnapshotLoader>();
        services.AddSingleton<NeighborhoodRoundRunner>();
        services.AddSingleton<SnapshotFollower>();
        services.AddHostedService(sp => sp.GetRequiredService<SnapshotFollower>());
        return builder;
    }
}
