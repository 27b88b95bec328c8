namespace RecoCluster.Silo.Storage;

/// <summary>Migrates the database when a silo starts, before anything in it is used: just before Orleans' runtime
/// initialises (<see cref="ServiceLifecycleStage.RuntimeInitialize"/>), because the membership table (AdoNet
/// clustering) is read there, and the grain storage and the ingresses come later.</summary>
public sealed class SchemaMigration(GrainStore store) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe<SchemaMigration>(ServiceLifecycleStage.RuntimeInitialize - 1, store.MigrateAsync);
}
