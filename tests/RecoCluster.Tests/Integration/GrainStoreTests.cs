using RecoCluster.Grains.Model;
using RecoCluster.Silo.Storage;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>The store's contract, run against each provider through real ADO.NET.</summary>
public abstract class GrainStoreTests : IAsyncLifetime
{
    private GrainStore _store = null!;
    private string _provider = string.Empty;
    private TestStorage _storage = null!;

    protected abstract Task<TestStorage> CreateStorageAsync();

    public async Task InitializeAsync()
    {
        var storage = await CreateStorageAsync();
        _storage = storage;
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

        // Every script shipped for this database was applied, up to the last (006 drops the first runtime's tables;
        // 005, the membership tables, exists on PostgreSQL only).
        var prefix = _provider == "Postgres" ? "sql/postgres/" : "sql/sqlite/";
        var newest = typeof(GrainStore).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Max(n => int.Parse(n.AsSpan(prefix.Length, 3), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(newest, before);
        Assert.True(before >= 6);
    }

    [Fact]
    public async Task A_round_is_published_once_with_its_parts_and_older_rounds_are_deleted()
    {
        Assert.Null(await _store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None));
        await _store.WriteSnapshotPartAsync(7, 0, [1, 2], CancellationToken.None);
        await _store.WriteSnapshotPartAsync(7, 1, [3], CancellationToken.None);
        await _store.WriteSnapshotPartAsync(7, 1, [4], CancellationToken.None); // a retried part replaces itself
        Assert.Null(await _store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None)); // parts alone are not a version

        var round = new RoundRow(7, RoundStates.Complete, 2, 1_000, 2_000, "silo-a");
        Assert.True(await _store.PublishRoundAsync(round, CancellationToken.None));
        Assert.False(await _store.PublishRoundAsync(round with { Owner = "silo-b" }, CancellationToken.None)); // first publisher wins
        Assert.Equal(round, await _store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None));
        Assert.Equal(round, await _store.LatestRoundAsync(CancellationToken.None));
        Assert.Null(await _store.LatestCompleteRoundAsync(7, CancellationToken.None));
        var parts = await _store.LoadRoundPartsAsync(7, RoundPhases.Entries, null, CancellationToken.None);
        Assert.Equal([0, 1], parts.Select(p => p.Partition));
        Assert.Equal([4], parts[1].Payload);

        await _store.WriteSnapshotPartAsync(8, 0, [5], CancellationToken.None);
        Assert.True(await _store.PublishRoundAsync(round with { Version = 8, Partitions = 1 }, CancellationToken.None));
        await _store.DeleteRoundsBelowAsync(8, CancellationToken.None);
        Assert.Equal(8, (await _store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None))?.Version);
        Assert.Empty(await _store.LoadRoundPartsAsync(7, RoundPhases.Entries, null, CancellationToken.None));
        Assert.Single(await _store.LoadRoundPartsAsync(8, RoundPhases.Entries, null, CancellationToken.None));
    }

    [Fact]
    public async Task Users_and_items_an_earlier_version_stored_as_grain_state_move_to_their_tables_once()
    {
        byte[] P(string text) => System.Text.Encoding.UTF8.GetBytes(text);
        // As versions before 2026-12 stored them: JSON grain state, a user with its last batch's item side, an erased
        // user's tombstone, an item with its rows as objects and its watermarks.
        await _store.WriteGrainStatesAsync(
            [
                new GrainStateWrite("user", "user/u-1", null, P("""{"model":{"recent":[{"itemId":"sku-2","lastType":"purchase","lastSeenMs":1000,"interactions":2,"purchased":true}],"counts":[1,0,0,1],"lastEventMs":1000,"capDay":0,"capCount":2,"factors":null},"lastBatchEnd":42,"lastItemSide":[]}""")),
                new GrainStateWrite("user", "user/erased", null, P("""{"model":null,"lastBatchEnd":40,"lastItemSide":[]}""")),
                new GrainStateWrite("item", "item/sku-2", null, P("""{"model":{"count":7,"row":{"sku-3":3},"purchaseCount":1,"purchaseRow":{"sku-3":1},"factors":[0.5,-0.25]},"watermarks":{"0":42}}""")),
                new GrainStateWrite("round", "round/0", null, P("""{"lastClaimed":3,"lastStartedMs":9}""")),
            ],
            CancellationToken.None);

        await _store.MoveLegacyStatesAsync(itemShards: 32, CancellationToken.None);
        await _store.MoveLegacyStatesAsync(itemShards: 32, CancellationToken.None); // nothing left: a no-op

        var users = await _store.LoadUsersAsync(["u-1", "erased"], CancellationToken.None);
        var user = Assert.Single(users);
        Assert.Equal(("u-1", 42L), (user.Key, user.Value.LastBatchEnd));
        var state = RecoCluster.Grains.Model.UserGrainStateCodec.Decode(user.Value.Payload);
        Assert.Equal(("sku-2", RecoCluster.Grains.Interfaces.EventType.Purchase, true), (state.Recent[0].ItemId, state.Recent[0].LastType, state.Recent[0].Purchased));
        var item = (await _store.LoadItemsAsync(["sku-2"], CancellationToken.None))["sku-2"].State;
        Assert.Equal((7L, 1L, "sku-3", 3L), (item.Count, item.PurchaseCount, item.RowItems.Single(), item.RowCounts.Single()));
        Assert.Equal([0.5f, -0.25f], item.Factors!);
        Assert.Null(await _store.ReadGrainStateAsync("user", "user/u-1", CancellationToken.None));
        Assert.Null(await _store.ReadGrainStateAsync("item", "item/sku-2", CancellationToken.None));
        Assert.NotNull(await _store.ReadGrainStateAsync("round", "round/0", CancellationToken.None)); // still grain state
    }

    [Fact]
    public async Task Moving_an_earlier_versions_users_is_refused_while_a_batch_it_began_is_unfinished()
    {
        await _store.WriteGrainStatesAsync([new GrainStateWrite("user", "user/u-1", null, System.Text.Encoding.UTF8.GetBytes("""{"model":null,"lastBatchEnd":4}"""))], CancellationToken.None);
        await _store.ClaimIngressAsync(3, CancellationToken.None);
        await TestDatabases.ExecuteAsync(_storage, "UPDATE reco_ingress SET pending_end = 9 WHERE partition_id = 3;");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => _store.MoveLegacyStatesAsync(32, CancellationToken.None));
        Assert.Contains("1 events partition(s) have a batch that a version of RecoCluster before 2026-12 began and did not finish", refused.Message, StringComparison.Ordinal);
        Assert.NotNull(await _store.ReadGrainStateAsync("user", "user/u-1", CancellationToken.None)); // nothing moved
    }

    [Fact]
    public async Task An_item_reads_back_as_its_row_plus_its_log_until_a_whole_write_deletes_the_log()
    {
        var claim = await _store.ClaimItemShardAsync(2, 32, CancellationToken.None);
        Task CommitAsync(IReadOnlyList<(string, byte[])> whole, IReadOnlyList<ItemLogWrite> logs, IReadOnlyList<string> cleared) =>
            _store.CommitItemShardAsync(2, claim.Epoch, new ShardWrite(whole, logs, cleared, new Dictionary<int, long> { [0] = 1 }), CancellationToken.None);
        static byte[] Whole(long count, string other, long together) =>
            ItemGrainStateCodec.Encode(new ItemGrainState { Count = count, RowItems = [other], RowCounts = [together], Factors = [1f] });
        static byte[] Change(string other, long together, float[]? factors) =>
            ItemGrainStateCodec.EncodeChange([Deltas.Of("x", together, new() { [other] = together }, nextRow: new() { [other] = 60 })], factors);

        var a = Whole(5, "b", 2);
        await CommitAsync([("a", a), ("b", Whole(1, "a", 2))], [], []);
        var first = Change("b", 3, null);
        var second = Change("c", 1, [2f]);
        await CommitAsync([], [new ItemLogWrite("a", 0, first), new ItemLogWrite("a", 1, second)], []);

        var loaded = await _store.LoadItemsAsync(["a", "b", "none"], CancellationToken.None);
        Assert.Equal(["a", "b"], loaded.Keys.Order(StringComparer.Ordinal));
        var state = loaded["a"].State;
        Assert.Equal(9, state.Count);
        Assert.Equal(new Dictionary<string, long> { ["b"] = 5, ["c"] = 1 }, state.Row().ToDictionary());
        Assert.Equal(new Dictionary<string, long> { ["b"] = 60, ["c"] = 60 }, state.NextRow().ToDictionary());
        Assert.Equal([2f], state.Factors!);
        Assert.Equal(new ItemStoredForm(a.Length, first.Length + second.Length, 2, 2), loaded["a"].Form);
        Assert.Equal(new ItemStoredForm(loaded["b"].Form.BaseBytes, 0, 0, 0), loaded["b"].Form);

        // A round's pages add each item's log too, and only its own.
        var page = Assert.Single(await _store.ReadItemsPageAsync(null, 1, CancellationToken.None));
        Assert.Equal(("a", 9L, 2), (page.ItemId, page.State.Count, page.State.RowItems.Length));
        var next = Assert.Single(await _store.ReadItemsPageAsync("a", 10, CancellationToken.None));
        Assert.Equal(("b", 1L), (next.ItemId, next.State.Count));

        // Written whole again: the log goes in the same transaction, and numbering starts over.
        var again = Whole(10, "d", 1);
        await CommitAsync([("a", again)], [], ["a"]);
        var reloaded = (await _store.LoadItemsAsync(["a"], CancellationToken.None))["a"];
        Assert.Equal((10L, new ItemStoredForm(again.Length, 0, 0, 0)), (reloaded.State.Count, reloaded.Form));
        await CommitAsync([], [new ItemLogWrite("a", 0, first)], []);
        Assert.Equal(13, (await _store.LoadItemsAsync(["a"], CancellationToken.None))["a"].State.Count);
    }

    [Fact]
    public async Task An_item_shard_starts_at_the_partitions_checkpoints_refuses_another_shard_count_and_fences_old_claims()
    {
        var ingress = await _store.ClaimIngressAsync(1, CancellationToken.None);
        await _store.CommitIngressBatchAsync(1, ingress.Epoch, 500, CancellationToken.None);

        var first = await _store.ClaimItemShardAsync(4, 32, CancellationToken.None);
        Assert.Equal(1, first.Epoch);
        Assert.Equal(new Dictionary<int, long> { [1] = 500 }, first.Watermarks);
        var second = await _store.ClaimItemShardAsync(4, 32, CancellationToken.None);
        Assert.Equal(2, second.Epoch);

        var write = new ShardWrite([("sku-9", [1, 0, 0, 0, 0, 1])], [], [], new Dictionary<int, long> { [1] = 600 });
        await Assert.ThrowsAsync<PartitionFencedException>(() => _store.CommitItemShardAsync(4, first.Epoch, write, CancellationToken.None));
        await _store.CommitItemShardAsync(4, second.Epoch, write, CancellationToken.None);
        Assert.Equal(new Dictionary<int, long> { [1] = 600 }, (await _store.ClaimItemShardAsync(4, 32, CancellationToken.None)).Watermarks);
        Assert.Single(await _store.LoadItemsAsync(["sku-9", "sku-10"], CancellationToken.None));

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => _store.ClaimItemShardAsync(4, 16, CancellationToken.None));
        Assert.Contains("Reco:Items:Shards = 32; this silo has 16", refused.Message, StringComparison.Ordinal);
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
