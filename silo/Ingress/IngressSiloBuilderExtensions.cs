using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Hosting;
using RecoCluster.Cluster;
using RecoCluster.Grains;
using RecoCluster.Grains.Orleans;
using RecoCluster.Silo.Runtime;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Ingress;

/// <summary>Wiring of the Orleans grains, their storage and the partition ingresses into a silo.</summary>
public static class IngressSiloBuilderExtensions
{
    /// <summary>Adds the user and item grains with the group-commit storage over <c>Reco:Storage</c>, and one
    /// ingress per events partition of <c>Reco:Kafka</c>.</summary>
    public static ISiloBuilder AddRecoGrains(this ISiloBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var services = builder.Services;
        services.AddOptions<KafkaOptions>().Bind(configuration.GetSection(KafkaOptions.Section)).ValidateOnStart();
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateOnStart();
        services.AddOptions<UserGrainOptions>().Bind(configuration.GetSection("Reco:Grains:User")).ValidateOnStart();
        services.AddOptions<IngressOptions>().Bind(configuration.GetSection(IngressOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UserGrainOptions>, UserGrainOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IngressOptions>, IngressOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => GrainStore.Open(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddGrainStorage(GrainStorageNames.Grains, (sp, _) => new GroupCommitGrainStorage(
            sp.GetRequiredService<GrainStore>(),
            sp.GetRequiredService<ILogger<GroupCommitGrainStorage>>()));
        services.TryAddSingleton<IProducer<byte[]?, byte[]?>>(sp =>
            new ProducerBuilder<byte[]?, byte[]?>(KafkaClientSettings.ReliableProducer(sp.GetRequiredService<IOptions<KafkaOptions>>().Value, "silo")).Build());
        services.TryAddSingleton(sp => new DeadLetters(
            sp.GetRequiredService<IProducer<byte[]?, byte[]?>>(),
            sp.GetRequiredService<IOptions<KafkaOptions>>().Value.Topics.DeadLetters));
        builder.AddPlacementDirector<PartitionSpreadPlacement, PartitionSpreadPlacementDirector>();
        services.AddSingleton<PartitionReaders>();
        services.AddSingleton<IngressKeeper>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<IngressKeeper>());
        return builder;
    }
}
