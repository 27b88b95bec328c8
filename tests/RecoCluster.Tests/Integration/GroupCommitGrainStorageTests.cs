using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Storage;
using RecoCluster.Grains.Model;
using RecoCluster.Grains.Orleans;
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
        var id = GrainId.Create("user", "etag-user");
        var first = new GrainState<PersistedUser>();
        await fixture.Storage.ReadStateAsync("user", id, first);
        Assert.False(first.RecordExists);

        first.State!.LastBatchEnd = 5;
        await fixture.Storage.WriteStateAsync("user", id, first);
        var second = new GrainState<PersistedUser>();
        await fixture.Storage.ReadStateAsync("user", id, second);
        Assert.True(second.RecordExists);
        Assert.Equal(5, second.State!.LastBatchEnd);

        first.State!.LastBatchEnd = 9;
        await fixture.Storage.WriteStateAsync("user", id, first);
        second.State!.LastBatchEnd = 7;
        await Assert.ThrowsAsync<InconsistentStateException>(() => fixture.Storage.WriteStateAsync("user", id, second));

        var reread = new GrainState<PersistedUser>();
        await fixture.Storage.ReadStateAsync("user", id, reread);
        Assert.Equal(9, reread.State!.LastBatchEnd);

        // A row that exists cannot be created again by a copy that never saw it.
        var blind = new GrainState<PersistedUser>();
        await Assert.ThrowsAsync<InconsistentStateException>(() => fixture.Storage.WriteStateAsync("user", id, blind));

        await fixture.Storage.ClearStateAsync("user", id, reread);
        var gone = new GrainState<PersistedUser>();
        await fixture.Storage.ReadStateAsync("user", id, gone);
        Assert.False(gone.RecordExists);
    }

    [Fact]
    public async Task Concurrent_writes_are_committed_together_and_each_is_stored()
    {
        await using var fixture = await StartAsync();
        const int grains = 400;
        var states = Enumerable.Range(0, grains).Select(i => new GrainState<PersistedItem>(new PersistedItem { Model = new ItemGrainState { Count = i }, Watermarks = { [3] = 1_000 + i } })).ToArray();

        await Task.WhenAll(states.Select((s, i) => fixture.Storage.WriteStateAsync("item", GrainId.Create("item", $"sku-{i}"), s)));

        Assert.Equal(grains, fixture.Storage.Writes);
        Assert.True(fixture.Storage.Commits <= grains / 10, $"{grains} concurrent writes took {fixture.Storage.Commits} commits");
        for (var i = 0; i < grains; i += 37)
        {
            var read = new GrainState<PersistedItem>();
            await fixture.Storage.ReadStateAsync("item", GrainId.Create("item", $"sku-{i}"), read);
            Assert.Equal(i, read.State!.Model!.Count);
            Assert.Equal(1_000 + i, read.State!.Watermarks[3]);
        }
    }

    [Fact]
    public async Task A_state_stored_as_json_before_the_binary_format_is_read_and_rewritten_in_binary()
    {
        await using var fixture = await StartAsync();
        var id = GrainId.Create("item", "sku-legacy");
        // A row as the storage wrote it until 2026-12: the state as UTF-8 JSON with web defaults, rows as objects.
        var legacy = System.Text.Encoding.UTF8.GetBytes(
            """{"model":{"count":7,"row":{"sku-2":3,"sku-9":4},"purchaseCount":1,"purchaseRow":{"sku-2":1},"factors":[0.5,-0.25]},"watermarks":{"3":120}}""");
        var stored = await fixture.Store.WriteGrainStatesAsync([new GrainStateWrite("item", id.ToString(), null, legacy)], CancellationToken.None);

        var read = new GrainState<PersistedItem>();
        await fixture.Storage.ReadStateAsync("item", id, read);
        Assert.Equal(stored[0].Version.ToString(), read.ETag);
        var model = read.State!.Model!;
        Assert.Equal(7, model.Count);
        Assert.Equal(new Dictionary<string, long> { ["sku-2"] = 3, ["sku-9"] = 4 }, model.Row().ToDictionary());
        Assert.Equal(new Dictionary<string, long> { ["sku-2"] = 1 }, model.PurchaseRow().ToDictionary());
        Assert.Equal([0.5f, -0.25f], model.Factors!);
        Assert.Equal(120, read.State.Watermarks[3]);

        model.Count = 8;
        await fixture.Storage.WriteStateAsync("item", id, read);
        var row = await fixture.Store.ReadGrainStateAsync("item", id.ToString(), CancellationToken.None);
        Assert.NotEqual((byte)'{', row!.Value.Payload[0]);
        var reread = new GrainState<PersistedItem>();
        await fixture.Storage.ReadStateAsync("item", id, reread);
        Assert.Equal(8, reread.State!.Model!.Count);
        Assert.Equal(4, reread.State.Model.Row().ToDictionary()["sku-9"]);
    }

    [Fact]
    public async Task A_payload_of_an_unknown_format_is_an_error_naming_the_grain()
    {
        await using var fixture = await StartAsync();
        var id = GrainId.Create("item", "sku-garbled");
        await fixture.Store.WriteGrainStatesAsync([new GrainStateWrite("item", id.ToString(), null, [0x7f, 1, 2])], CancellationToken.None);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => fixture.Storage.ReadStateAsync("item", id, new GrainState<PersistedItem>()));
        Assert.Contains("sku-garbled", e.Message);
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
