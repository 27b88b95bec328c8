namespace RecoCluster.Silo.Storage;

/// <summary>
/// Creates the membership tables in the PostgreSQL database that AdoNet clustering uses when it is not the grain
/// storage's database (for example SQLite storage with the membership in PostgreSQL), at the same point of start-up
/// as <see cref="SchemaMigration"/>. The project's migrations are one versioned series, so that database gets the
/// whole schema; only the membership tables are used there.
/// </summary>
public sealed class MembershipSchemaMigration(string connectionString) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe<MembershipSchemaMigration>(ServiceLifecycleStage.RuntimeInitialize - 1, MigrateAsync);

    private async Task MigrateAsync(CancellationToken ct)
    {
        await using var store = GrainStore.Open(new StorageOptions { Provider = "Postgres", ConnectionString = connectionString });
        await store.MigrateAsync(ct);
    }
}
