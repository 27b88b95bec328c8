using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Storage;
using RecoCluster.Silo.Neighborhoods;
using RecoCluster.Silo.Storage;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>The Orleans grain storage on a real database: ETags refuse a second activation's stale write, and
/// concurrent writes share transactions.</summary>
public abstract class GroupCommitGrainStorageTests
{
    protected abstract Task<TestStorage> NewStorageAsync();

    [Fact]
    public async Task A_write_from_a_stale_copy_is_refused_and_the_stored_state_is_kept()
    {
        await using var fixture = await StartAsync();
        var id = GrainId.Create("round", "etag-round");
        var first = new GrainState<PersistedRound>();
        await fixture.Storage.ReadStateAsync("round", id, first);
        Assert.False(first.RecordExists);

        first.State!.LastClaimed = 5;
        await fixture.Storage.WriteStateAsync("round", id, first);
        var second = new GrainState<PersistedRound>();
        await fixture.Storage.ReadStateAsync("round", id, second);
        Assert.True(second.RecordExists);
        Assert.Equal(5, second.State!.LastClaimed);

        first.State!.LastClaimed = 9;
        await fixture.Storage.WriteStateAsync("round", id, first);
        second.State!.LastClaimed = 7;
        await Assert.ThrowsAsync<InconsistentStateException>(() => fixture.Storage.WriteStateAsync("round", id, second));

        var reread = new GrainState<PersistedRound>();
        await fixture.Storage.ReadStateAsync("round", id, reread);
        Assert.Equal(9, reread.State!.LastClaimed);

        // A row that exists cannot be created again by a copy that never saw it.
        var blind = new GrainState<PersistedRound>();
        await Assert.ThrowsAsync<InconsistentStateException>(() => fixture.Storage.WriteStateAsync("round", id, blind));

        await fixture.Storage.ClearStateAsync("round", id, reread);
        var gone = new GrainState<PersistedRound>();
        await fixture.Storage.ReadStateAsync("round", id, gone);
        Assert.False(gone.RecordExists);
    }

    [Fact]
    public async Task Concurrent_writes_are_committed_together_and_each_is_stored()
    {
        await using var fixture = await StartAsync();
        const int grains = 400;
        var states = Enumerable.Range(0, grains).Select(i => new GrainState<PersistedRound>(new PersistedRound { LastClaimed = i, LastStartedMs = 1_000 + i })).ToArray();

        await Task.WhenAll(states.Select((s, i) => fixture.Storage.WriteStateAsync("round", GrainId.Create("round", $"r-{i}"), s)));

        Assert.Equal(grains, fixture.Storage.Writes);
        Assert.True(fixture.Storage.Commits <= grains / 10, $"{grains} concurrent writes took {fixture.Storage.Commits} commits");
        for (var i = 0; i < grains; i += 37)
        {
            var read = new GrainState<PersistedRound>();
            await fixture.Storage.ReadStateAsync("round", GrainId.Create("round", $"r-{i}"), read);
            Assert.Equal(i, read.State!.LastClaimed);
            Assert.Equal(1_000 + i, read.State!.LastStartedMs);
        }
    }

    [Fact]
    public async Task A_state_stored_as_json_before_the_binary_format_is_read_and_rewritten_in_binary()
    {
        await using var fixture = await StartAsync();
        var id = GrainId.Create("round", "0");
        // A row as the storage wrote it until 2026-12: the state as UTF-8 JSON with web defaults.
        var legacy = System.Text.Encoding.UTF8.GetBytes("""{"lastClaimed":7,"lastStartedMs":1234}""");
        var stored = await fixture.Store.WriteGrainStatesAsync([new GrainStateWrite("round", id.ToString(), null, legacy)], CancellationToken.None);

        var read = new GrainState<PersistedRound>();
        await fixture.Storage.ReadStateAsync("round", id, read);
        Assert.Equal(stored[0].Version.ToString(), read.ETag);
        Assert.Equal((7, 1234), (read.State!.LastClaimed, read.State.LastStartedMs));

        read.State.LastClaimed = 8;
        await fixture.Storage.WriteStateAsync("round", id, read);
        var row = await fixture.Store.ReadGrainStateAsync("round", id.ToString(), CancellationToken.None);
        Assert.NotEqual((byte)'{', row!.Value.Payload[0]);
        var reread = new GrainState<PersistedRound>();
        await fixture.Storage.ReadStateAsync("round", id, reread);
        Assert.Equal((8, 1234), (reread.State!.LastClaimed, reread.State.LastStartedMs));
    }

    [Fact]
    public async Task A_payload_of_an_unknown_format_is_an_error_naming_the_grain()
    {
        await using var fixture = await StartAsync();
        var id = GrainId.Create("round", "garbled");
        await fixture.Store.WriteGrainStatesAsync([new GrainStateWrite("round", id.ToString(), null, [0x7f, 1, 2])], CancellationToken.None);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => fixture.Storage.ReadStateAsync("round", id, new GrainState<PersistedRound>()));
        Assert.Contains("garbled", e.Message);
        Assert.Contains("unknown format", e.Message);
    }

    /// <summary>Orleans' serializer over the generated codecs of the project's assemblies, as a silo has it.</summary>
    internal static GrainStateSerializer StateSerializer { get; } = new(
        Orleans.Serialization.ServiceCollectionExtensions.AddSerializer(new ServiceCollection()).BuildServiceProvider().GetRequiredService<Orleans.Serialization.Serializer>());

    private async Task<Fixture> StartAsync()
    {
        var storage = await NewStorageAsync();
        var store = GrainStore.Open(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString });
        await store.MigrateAsync(CancellationToken.None);
        var grainStorage = new GroupCommitGrainStorage(store, StateSerializer, NullLogger<GroupCommitGrainStorage>.Instance);
        grainStorage.Start();
        return new Fixture(store, grainStorage);
    }

    private sealed record Fixture(GrainStore Store, GroupCommitGrainStorage Storage) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Storage.DisposeAsync();
            await Store.DisposeAsync();
        }
    }
}

public sealed class SqliteGroupCommitGrainStorageTests : GroupCommitGrainStorageTests
{
    protected override Task<TestStorage> NewStorageAsync() => Task.FromResult(TestDatabases.NewSqlite());
}

public sealed class PostgresGroupCommitGrainStorageTests : GroupCommitGrainStorageTests
{
    protected override Task<TestStorage> NewStorageAsync() => TestDatabases.NewPostgresAsync();
}
