using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Storage;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>The store's contract, run against each provider through real ADO.NET.</summary>
public abstract class GrainStoreTests : IAsyncLifetime
{
    private GrainStore _store = null!;

    protected abstract Task<TestStorage> CreateStorageAsync();

    public async Task InitializeAsync()
    {
        var storage = await CreateStorageAsync();
        _store = GrainStore.Open(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString });
        await _store.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task Migration_is_idempotent()
    {
        await _store.MigrateAsync(CancellationToken.None);
        Assert.Equal(1, await _store.SchemaVersionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Grain_state_round_trips_through_a_checkpoint()
    {
        var grain = new UserGrain("u-1", new UserGrainOptions());
        grain.Apply(new ClickEvent("u-1", "sku-1", EventType.Purchase, DateTimeOffset.FromUnixTimeMilliseconds(1763797753123), "s", 2, 9.99m));
        grain.Apply(new ClickEvent("u-1", "sku-2", EventType.View, DateTimeOffset.FromUnixTimeMilliseconds(1763797754000)));
        var claim = await _store.ClaimAsync("events", 3, "silo-a", CancellationToken.None);
        Assert.Equal(new PartitionClaim(1, -1), claim);

        await _store.CheckpointAsync("events", 3, claim.Epoch, 42, [new GrainWrite("user", "u-1", UserGrainStateCodec.Encode(grain.State))], CancellationToken.None);

        var stored = await _store.LoadGrainAsync("user", "u-1", CancellationToken.None);
        Assert.NotNull(stored);
        var restored = new UserGrain("u-1", new UserGrainOptions(), UserGrainStateCodec.Decode(stored));
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(grain.GetHistory()),
            System.Text.Json.JsonSerializer.Serialize(restored.GetHistory()));
        Assert.Null(await _store.LoadGrainAsync("user", "u-2", CancellationToken.None));

        // The next owner resumes where the checkpoint left off, with a higher epoch.
        Assert.Equal(new PartitionClaim(2, 42), await _store.ClaimAsync("events", 3, "silo-b", CancellationToken.None));
    }

    [Fact]
    public async Task A_stale_owner_is_fenced_and_writes_nothing()
    {
        var old = await _store.ClaimAsync("events", 0, "silo-a", CancellationToken.None);
        await _store.CheckpointAsync("events", 0, old.Epoch, 10, [new GrainWrite("user", "u", [1])], CancellationToken.None);
        var current = await _store.ClaimAsync("events", 0, "silo-b", CancellationToken.None);

        await Assert.ThrowsAsync<PartitionFencedException>(() =>
            _store.CheckpointAsync("events", 0, old.Epoch, 99, [new GrainWrite("user", "u", [2]), new GrainWrite("user", "v", [3])], CancellationToken.None));

        Assert.Equal([1], await _store.LoadGrainAsync("user", "u", CancellationToken.None));
        Assert.Null(await _store.LoadGrainAsync("user", "v", CancellationToken.None));
        await _store.CheckpointAsync("events", 0, current.Epoch, 11, [new GrainWrite("user", "u", [4])], CancellationToken.None);
        Assert.Equal([4], await _store.LoadGrainAsync("user", "u", CancellationToken.None));
        Assert.Equal(11, (await _store.ClaimAsync("events", 0, "silo-c", CancellationToken.None)).NextOffset);
    }

    [Fact]
    public async Task Partitions_of_different_topics_are_independent()
    {
        var a = await _store.ClaimAsync("t1", 0, "x", CancellationToken.None);
        var b = await _store.ClaimAsync("t2", 0, "x", CancellationToken.None);
        await _store.CheckpointAsync("t1", 0, a.Epoch, 5, [], CancellationToken.None);
        Assert.Equal(1, b.Epoch);
        Assert.Equal(-1, (await _store.ClaimAsync("t2", 0, "y", CancellationToken.None)).NextOffset);
        Assert.Equal(5, (await _store.ClaimAsync("t1", 0, "y", CancellationToken.None)).NextOffset);
    }
}

public sealed class SqliteGrainStoreTests : GrainStoreTests
{
    protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult(TestDatabases.NewSqlite());
}

public sealed class PostgresGrainStoreTests : GrainStoreTests
{
    protected override Task<TestStorage> CreateStorageAsync() => TestDatabases.NewPostgresAsync();
}
