using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Storage;
using RecoCluster.Tests.Infrastructure;
using RecoCluster.Grains.Model;

namespace RecoCluster.Tests.Integration;

/// <summary>The store's contract, run against each provider through real ADO.NET.</summary>
public abstract class GrainStoreTests : IAsyncLifetime
{
    private static readonly DeltaCombiner Sink = new();
    private GrainStore _store = null!;
    private string _provider = string.Empty;

    protected abstract Task<TestStorage> CreateStorageAsync();

    public async Task InitializeAsync()
    {
        var storage = await CreateStorageAsync();
        _provider = storage.Provider;
        _store = GrainStore.Open(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString });
        await _store.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task A_group_of_grain_state_writes_applies_each_on_its_own_version_and_reports_each_conflict()
    {
        byte[] P(string text) => System.Text.Encoding.UTF8.GetBytes(text);
        var first = await _store.WriteGrainStatesAsync(
            Enumerable.Range(0, 450).Select(i => new GrainStateWrite("item", $"item/sku-{i}", null, P($"v1-{i}"))).ToList(),
            CancellationToken.None);
        Assert.All(first, r => Assert.Equal(new GrainStateWriteResult(false, 1), r));

        // More rows than one statement holds: updates at the right version, at a stale one, inserts of new rows and
        // of an existing one, a delete, and one grain written twice in the group (the second write sees the first).
        var writes = new List<GrainStateWrite>();
        writes.AddRange(Enumerable.Range(0, 300).Select(i => new GrainStateWrite("item", $"item/sku-{i}", 1, P($"v2-{i}"))));
        writes.Add(new GrainStateWrite("item", "item/sku-300", 7, P("stale")));
        writes.Add(new GrainStateWrite("item", "item/sku-301", null, P("exists")));
        writes.Add(new GrainStateWrite("user", "user/new", null, P("new")));
        writes.Add(new GrainStateWrite("item", "item/sku-302", 1, null));
        writes.Add(new GrainStateWrite("item", "item/sku-0", 2, P("v3-0")));
        var results = await _store.WriteGrainStatesAsync(writes, CancellationToken.None);

        Assert.All(results.Take(300), r => Assert.Equal(new GrainStateWriteResult(false, 2), r));
        Assert.True(results[300].Conflict);
        Assert.True(results[301].Conflict);
        Assert.Equal(new GrainStateWriteResult(false, 1), results[302]);
        Assert.Equal(new GrainStateWriteResult(false, null), results[303]);
        Assert.Equal(new GrainStateWriteResult(false, 3), results[304]);

        Assert.Equal("v3-0", Text(await _store.ReadGrainStateAsync("item", "item/sku-0", CancellationToken.None)));
        Assert.Equal("v2-299", Text(await _store.ReadGrainStateAsync("item", "item/sku-299", CancellationToken.None)));
        Assert.Equal("v1-300", Text(await _store.ReadGrainStateAsync("item", "item/sku-300", CancellationToken.None)));
        Assert.Equal("v1-301", Text(await _store.ReadGrainStateAsync("item", "item/sku-301", CancellationToken.None)));
        Assert.Null(await _store.ReadGrainStateAsync("item", "item/sku-302", CancellationToken.None));
        Assert.Equal("new", Text(await _store.ReadGrainStateAsync("user", "user/new", CancellationToken.None)));

        static string? Text(StoredGrainState? row) => row is { } r ? System.Text.Encoding.UTF8.GetString(r.Payload) : null;
    }

    [Fact]
    public async Task Migration_is_idempotent()
    {
        var before = await _store.SchemaVersionAsync(CancellationToken.None);
        await _store.MigrateAsync(CancellationToken.None);
        Assert.Equal(before, await _store.SchemaVersionAsync(CancellationToken.None));

        // Every script shipped for this database was applied: the Orleans runtime's (004) included, and on
        // PostgreSQL the membership tables (005).
        var prefix = _provider == "Postgres" ? "sql/postgres/" : "sql/sqlite/";
        var scripts = typeof(GrainStore).Assembly.GetManifestResourceNames().Count(n => n.StartsWith(prefix, StringComparison.Ordinal));
        Assert.Equal(scripts, before);
        Assert.True(before >= 4);
    }

    [Fact]
    public async Task Rounds_and_their_parts_are_written_only_under_a_current_epoch()
    {
        var control = await _store.ClaimAsync("control", 0, "silo-a", CancellationToken.None);
        var items = await _store.ClaimAsync("items", 1, "silo-a", CancellationToken.None);
        var round = new RoundRow(7, RoundStates.Counting, 2, 1_000, null, "silo-a");
        Assert.True(await _store.CreateRoundAsync("control", control.Epoch, round, CancellationToken.None));
        Assert.False(await _store.CreateRoundAsync("control", control.Epoch + 1, round with { Version = 8 }, CancellationToken.None));
        Assert.Equal(round, await _store.LatestRoundAsync(CancellationToken.None));

        Assert.True(await _store.WriteRoundPartAsync(7, RoundPhases.Counts, "items", 1, items.Epoch, [1, 2], CancellationToken.None));
        Assert.False(await _store.WriteRoundPartAsync(7, RoundPhases.Counts, "items", 1, items.Epoch, [9], CancellationToken.None)); // first writer wins
        Assert.False(await _store.WriteRoundPartAsync(7, RoundPhases.Counts, "items", 0, items.Epoch, [3], CancellationToken.None)); // not this partition's epoch
        Assert.Equal([1], await _store.RoundPartsWrittenAsync(7, RoundPhases.Counts, CancellationToken.None));
        Assert.Equal([1, 2], Assert.Single(await _store.LoadRoundPartsAsync(7, RoundPhases.Counts, 1, CancellationToken.None)).Payload);

        // A new claim fences the old epoch: the round cannot be moved by it any more.
        var newer = await _store.ClaimAsync("control", 0, "silo-b", CancellationToken.None);
        Assert.False(await _store.AdvanceRoundAsync("control", control.Epoch, 7, RoundStates.Counting, RoundStates.Scoring, null, CancellationToken.None));
        Assert.True(await _store.AdvanceRoundAsync("control", newer.Epoch, 7, RoundStates.Counting, RoundStates.Scoring, null, CancellationToken.None));
        Assert.False(await _store.AdvanceRoundAsync("control", newer.Epoch, 7, RoundStates.Counting, RoundStates.Scoring, null, CancellationToken.None)); // not in that state any more
        Assert.True(await _store.AdvanceRoundAsync("control", newer.Epoch, 7, RoundStates.Scoring, RoundStates.Complete, 2_000, CancellationToken.None));
        Assert.Equal(round with { State = RoundStates.Complete, CompletedMs = 2_000 }, await _store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None));
        Assert.Null(await _store.LatestCompleteRoundAsync(7, CancellationToken.None));

        await _store.DeleteRoundsBelowAsync(8, CancellationToken.None);
        Assert.Null(await _store.LatestRoundAsync(CancellationToken.None));
        Assert.Empty(await _store.RoundPartsWrittenAsync(7, RoundPhases.Counts, CancellationToken.None));
    }

    [Fact]
    public async Task Grain_state_round_trips_through_a_checkpoint()
    {
        var grain = new UserModel("u-1", new UserGrainOptions());
        grain.Apply(new ClickEvent("u-1", "sku-1", EventType.Purchase, DateTimeOffset.FromUnixTimeMilliseconds(1763797753123), "s", 2, 9.99m), Sink);
        grain.Apply(new ClickEvent("u-1", "sku-2", EventType.View, DateTimeOffset.FromUnixTimeMilliseconds(1763797754000)), Sink);
        var claim = await _store.ClaimAsync("events", 3, "silo-a", CancellationToken.None);
        Assert.Equal(new PartitionClaim(1, -1), claim);

        await _store.CheckpointAsync(new Checkpoint("events", 3, claim.Epoch, 42, [new GrainWrite("user", "u-1", UserGrainStateCodec.Encode(grain.State))]), CancellationToken.None);

        var stored = await _store.LoadGrainAsync("user", "u-1", CancellationToken.None);
        Assert.NotNull(stored);
        var restored = new UserModel("u-1", new UserGrainOptions(), UserGrainStateCodec.Decode(stored));
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(grain.GetHistory()),
            System.Text.Json.JsonSerializer.Serialize(restored.GetHistory()));
        Assert.Null(await _store.LoadGrainAsync("user", "u-2", CancellationToken.None));

        // The next owner resumes where the checkpoint left off, with a higher epoch.
        Assert.Equal(new PartitionClaim(2, 42), await _store.ClaimAsync("events", 3, "silo-b", CancellationToken.None));
    }

    [Fact]
    public async Task A_checkpoint_deletes_erased_grains_before_writing_fresh_ones()
    {
        var claim = await _store.ClaimAsync("events", 5, "silo-a", CancellationToken.None);
        await _store.CheckpointAsync(new Checkpoint("events", 5, claim.Epoch, 10, [new GrainWrite("user", "gone", [1]), new GrainWrite("user", "back", [2]), new GrainWrite("user", "kept", [3])]), CancellationToken.None);

        // "gone" is erased; "back" is erased and active again within the same checkpoint interval.
        await _store.CheckpointAsync(
            new Checkpoint("events", 5, claim.Epoch, 20, [new GrainWrite("user", "back", [9])], Deletes: [new GrainKey("user", "gone"), new GrainKey("user", "back")]),
            CancellationToken.None);

        Assert.Null(await _store.LoadGrainAsync("user", "gone", CancellationToken.None));
        Assert.Equal([9], await _store.LoadGrainAsync("user", "back", CancellationToken.None));
        Assert.Equal([3], await _store.LoadGrainAsync("user", "kept", CancellationToken.None));

        // A fenced checkpoint deletes nothing either.
        await _store.ClaimAsync("events", 5, "silo-b", CancellationToken.None);
        await Assert.ThrowsAsync<PartitionFencedException>(() => _store.CheckpointAsync(new Checkpoint("events", 5, claim.Epoch, 30, [], Deletes: [new GrainKey("user", "kept")]), CancellationToken.None));
        Assert.Equal([3], await _store.LoadGrainAsync("user", "kept", CancellationToken.None));
    }

    [Fact]
    public async Task A_stale_owner_is_fenced_and_writes_nothing()
    {
        var old = await _store.ClaimAsync("events", 0, "silo-a", CancellationToken.None);
        await _store.CheckpointAsync(new Checkpoint("events", 0, old.Epoch, 10, [new GrainWrite("user", "u", [1])]), CancellationToken.None);
        var current = await _store.ClaimAsync("events", 0, "silo-b", CancellationToken.None);

        await Assert.ThrowsAsync<PartitionFencedException>(() =>
            _store.CheckpointAsync(new Checkpoint("events", 0, old.Epoch, 99, [new GrainWrite("user", "u", [2]), new GrainWrite("user", "v", [3])]), CancellationToken.None));

        Assert.Equal([1], await _store.LoadGrainAsync("user", "u", CancellationToken.None));
        Assert.Null(await _store.LoadGrainAsync("user", "v", CancellationToken.None));
        await _store.CheckpointAsync(new Checkpoint("events", 0, current.Epoch, 11, [new GrainWrite("user", "u", [4])]), CancellationToken.None);
        Assert.Equal([4], await _store.LoadGrainAsync("user", "u", CancellationToken.None));
        Assert.Equal(11, (await _store.ClaimAsync("events", 0, "silo-c", CancellationToken.None)).NextOffset);
    }

    [Fact]
    public async Task Watermarks_and_the_outbox_are_written_with_the_checkpoint_and_only_by_the_owner()
    {
        var claim = await _store.ClaimAsync("events", 1, "a", CancellationToken.None);
        await _store.CheckpointAsync(new Checkpoint("events", 1, claim.Epoch, 100, [], Outbox: [new OutboxRow(100, 0, [1]), new OutboxRow(100, 3, [2])]), CancellationToken.None);
        await _store.CheckpointAsync(new Checkpoint("events", 1, claim.Epoch, 180, [], Outbox: [new OutboxRow(180, 3, [3])], OutboxAckedThrough: 100), CancellationToken.None);
        Assert.Equal([new OutboxRow(180, 3, [3])], (await _store.LoadOutboxAsync("events", 1, CancellationToken.None)), new OutboxComparer());

        var item = await _store.ClaimAsync("deltas", 4, "a", CancellationToken.None);
        await _store.CheckpointAsync(new Checkpoint("deltas", 4, item.Epoch, 7, [], Watermarks: new Dictionary<int, long> { [1] = 180, [2] = 50 }), CancellationToken.None);
        await _store.CheckpointAsync(new Checkpoint("deltas", 4, item.Epoch, 9, [], Watermarks: new Dictionary<int, long> { [2] = 60 }), CancellationToken.None);
        Assert.Equal(new Dictionary<int, long> { [1] = 180, [2] = 60 }, await _store.LoadWatermarksAsync("deltas", 4, CancellationToken.None));

        // A stale owner's watermarks and outbox rows are refused with the rest of its checkpoint.
        await _store.ClaimAsync("deltas", 4, "b", CancellationToken.None);
        await Assert.ThrowsAsync<PartitionFencedException>(() => _store.CheckpointAsync(new Checkpoint("deltas", 4, item.Epoch, 10, [], Watermarks: new Dictionary<int, long> { [2] = 99 }), CancellationToken.None));
        Assert.Equal(60, (await _store.LoadWatermarksAsync("deltas", 4, CancellationToken.None))[2]);
    }

    [Fact]
    public async Task Partitions_of_different_topics_are_independent()
    {
        var a = await _store.ClaimAsync("t1", 0, "x", CancellationToken.None);
        var b = await _store.ClaimAsync("t2", 0, "x", CancellationToken.None);
        await _store.CheckpointAsync(new Checkpoint("t1", 0, a.Epoch, 5, []), CancellationToken.None);
        Assert.Equal(1, b.Epoch);
        Assert.Equal(-1, (await _store.ClaimAsync("t2", 0, "y", CancellationToken.None)).NextOffset);
        Assert.Equal(5, (await _store.ClaimAsync("t1", 0, "y", CancellationToken.None)).NextOffset);
    }

    private sealed class OutboxComparer : IEqualityComparer<OutboxRow>
    {
        public bool Equals(OutboxRow x, OutboxRow y) => x.BatchEnd == y.BatchEnd && x.TargetPartition == y.TargetPartition && x.Payload.SequenceEqual(y.Payload);

        public int GetHashCode(OutboxRow obj) => HashCode.Combine(obj.BatchEnd, obj.TargetPartition);
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
