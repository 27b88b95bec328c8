using Microsoft.Extensions.Options;
using RecoCluster.Silo.Items;

namespace RecoCluster.Silo.Storage;

/// <summary>Migrates the database when a silo starts, before anything in it is used: just before Orleans' runtime
/// initialises (<see cref="ServiceLifecycleStage.RuntimeInitialize"/>), because the membership table (AdoNet
/// clustering) is read there, and the grain storage and the ingresses come later. Users and items stored as grain
/// state by versions before 2026-12 are moved to their tables then too.</summary>
public sealed class SchemaMigration(GrainStore store, IOptions<ItemShardOptions> items) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe<SchemaMigration>(ServiceLifecycleStage.RuntimeInitialize - 1, async ct =>
        {
            await store.MigrateAsync(ct);
            await store.MoveLegacyStatesAsync(items.Value.Shards, ct);
        });
}
