using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Silo.Hosting;
using RecoCluster.Silo.Storage;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// The Orleans runtime's promise: user and item counts equal an independent recount of every event, through a
/// silo killed in the middle of the stream and a silo added, with invalid records dead-lettered and not counted.
/// </summary>
public abstract class OrleansIngressTests
{
    private static readonly TimeSpan CatchUp = TimeSpan.FromMinutes(4);

    protected abstract Task<TestStorage> NewStorageAsync();

    [Fact]
    public async Task Counts_equal_a_recount_after_a_silo_is_killed_mid_stream_and_another_joins()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(await NewStorageAsync(), silos: 3, partitions: 6);
        var events = ClusterClient.Events(seed: 14, count: 12_000, users: 400, items: 150);
        var half = events.Count / 2;
        await cluster.ProduceAsync(events.Take(half));
        await cluster.ProduceRawAsync(Enumerable.Range(0, 5).Select(i => new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes($"u-{i}"),
            Value = Encoding.UTF8.GetBytes("{\"userId\":\"u-" + i + "\",\"itemId\":\"\",\"type\":\"view\"}"),
        }));

        // The ingresses spread over the three silos (two partitions each) once all have joined.
        var secondaries = cluster.Cluster.SecondarySilos.ToDictionary(s => s.SiloAddress.ToString());
        await Eventually.TrueAsync(
            async () => (await cluster.IngressesAsync()).GroupBy(s => s.Silo).Count() == 3,
            CatchUp,
            "ingresses on all three silos");

        // Kill a silo that reads partitions while the second half streams in, so that batches are in flight on it
        // (cut, partly sent to the item shards, not yet checkpointed) when it dies.
        var victim = (await cluster.IngressesAsync()).Select(s => s.Silo).First(secondaries.ContainsKey);
        var streaming = Task.Run(async () =>
        {
            foreach (var chunk in events.Skip(half).Chunk(250))
            {
                await cluster.ProduceAsync(chunk);
                await Task.Delay(20);
            }
        });
        await Eventually.TrueAsync(async () => (await cluster.CheckpointsAsync()).Values.Sum(c => Math.Max(0, c.NextOffset)) > half + 1_000, CatchUp, "the second half streaming in");
        await cluster.Cluster.KillSiloAsync(secondaries[victim]);
        await streaming;
        await cluster.Cluster.StartAdditionalSiloAsync();
        await cluster.WaitUntilCaughtUpAsync(CatchUp);

        await AssertEqualsRecountAsync(cluster, events, items: 150);
        var statuses = await cluster.IngressesAsync();
        Assert.All(statuses, s => Assert.Null(s.LastError));
        Assert.DoesNotContain(statuses, s => s.Silo == victim);
        Assert.Contains(statuses, s => s.Epoch > 1); // the victim's partitions moved to new readers
    }

    [Fact]
    public async Task Invalid_records_go_to_the_dead_letter_topic_with_their_reason_and_count_nowhere()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(await NewStorageAsync(), silos: 1, partitions: 2);
        var good = new ClickEvent("dl-user", "sku-1", EventType.View, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        await cluster.ProduceRawAsync(
        [
            new() { Key = Encoding.UTF8.GetBytes("dl-user"), Value = Encoding.UTF8.GetBytes("not json") },
            new() { Key = Encoding.UTF8.GetBytes("someone-else"), Value = EventSchema.ToUtf8(good) },
            new() { Key = Encoding.UTF8.GetBytes("\u202egnp.exe"), Value = Encoding.UTF8.GetBytes("{\"userId\":\"\\u202egnp.exe\",\"itemId\":\"sku-1\",\"type\":\"view\",\"timestamp\":1763797753000}") },
        ]);
        await cluster.ProduceAsync([good]);
        await cluster.WaitUntilCaughtUpAsync(CatchUp);

        var history = await cluster.Grains.GetGrain<IUserGrain>("dl-user").GetHistoryAsync();
        Assert.NotNull(history);
        Assert.Equal(1, history.TotalEvents);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = $"dlq-{Guid.NewGuid():N}", AutoOffsetReset = AutoOffsetReset.Earliest }).Build();
        consumer.Subscribe(cluster.Topics.DeadLetters);
        var reasons = new List<string>();
        var started = DateTime.UtcNow;
        while (reasons.Count < 3 && DateTime.UtcNow - started < CatchUp)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record?.Message is { } message)
            {
                reasons.Add(Encoding.UTF8.GetString(message.Headers.GetLastBytes(Silo.Ingress.DeadLetters.ReasonHeader)));
            }
        }

        Assert.Equal(3, reasons.Count);
        Assert.Contains(reasons, r => r.Contains("key must be the event's userId", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("'userId' contains an invisible format character (U+202E)", StringComparison.Ordinal));
        Assert.Contains(reasons, r => !r.Contains("key", StringComparison.Ordinal) && !r.Contains("U+202E", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_batch_whose_users_and_item_side_a_dead_reader_stored_is_finished_by_the_next_reader_exactly_once()
    {
        // What a reader leaves when it dies between storing a batch's users with its item side and the checkpoint:
        // made here with the store's own calls, on the first 300 events of a one-partition topic.
        var storage = await NewStorageAsync();
        var events = ClusterClient.Events(seed: 21, count: 1_000, users: 80, items: 60, userPrefix: "pend");
        const int pending = 300;
        await using (var store = GrainStore.Open(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString }))
        {
            await store.MigrateAsync(CancellationToken.None);
            var claim = await store.ClaimIngressAsync(0, CancellationToken.None);
            var ids = new ItemIdTable();
            var users = new UserWorkingSet(Recount.TestRule.Options, ids, capacity: 10_000);
            var combiner = new DeltaCombiner(ids);
            foreach (var e in events.Take(pending))
            {
                users.Load(e.UserId, null);
                users.Apply(e.UserId, e, combiner, null);
            }

            var changed = users.Changed().ConvertAll(u => new UserWrite(u.UserId, UserGrainStateCodec.Encode(u.State!)));
            await store.CommitUserBatchAsync(0, claim.Epoch, claim.NextOffset, pending, ItemDeltaCodec.Encode(combiner.Drain()), changed, CancellationToken.None);
        }

        // The next reader finishes that batch from what is stored (it does not apply its records again) and reads on
        // after it: the served state equals a recount of every event, the pending batch's counted once.
        await using var cluster = await OrleansTestCluster.StartAsync(
            storage, silos: 1, partitions: 1, beforeSilos: (bootstrap, topics) => OrleansTestCluster.ProduceAsync(bootstrap, topics, events));
        await cluster.WaitUntilCaughtUpAsync(CatchUp);
        await AssertEqualsRecountAsync(cluster, events, items: 60);
        var status = Assert.Single(await cluster.IngressesAsync());
        Assert.Equal(2, status.Epoch);
        Assert.Equal(events.Count - pending, status.Applied);
    }

    [Fact]
    public async Task An_item_shard_applies_each_partitions_batch_once_and_drops_it_when_it_comes_again()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(await NewStorageAsync(), silos: 1, partitions: 1);
        var shard = cluster.Grains.GetGrain<IItemShardGrain>(5);
        var deltas = new ItemDeltaBatch([Deltas.Of("hot", 1, new() { ["other"] = 2 }), Deltas.Of("cold", 2, new() { ["hot"] = 1 })]);
        const int sources = 40;

        // As the ingresses of 40 partitions would: one call each, all at once; they share the shard's writes.
        var applied = await Task.WhenAll(Enumerable.Range(0, sources).Select(p => shard.ApplyAsync(p, 10, deltas)));
        Assert.All(applied, Assert.True);
        var hot = await shard.GetCooccurrenceAsync("hot", 10);
        Assert.Equal(sources, hot.Count);
        Assert.Equal(2 * sources, hot.Neighbors.Single(n => n.ItemId == "other").Count);

        // Every one of them again, as after a crash before the checkpoints: all replays, nothing counted twice; an
        // older batch of a partition is a replay too, and a newer one counts.
        var replayed = await Task.WhenAll(Enumerable.Range(0, sources).Select(p => shard.ApplyAsync(p, 10, deltas)));
        Assert.All(replayed, Assert.False);
        Assert.False(await shard.ApplyAsync(3, 9, deltas));
        Assert.True(await shard.ApplyAsync(3, 11, deltas));
        Assert.Equal(sources + 1, (await shard.GetCooccurrenceAsync("hot", 10)).Count);

        // What is stored is what is served, through the item's router grain as the gateway reads it.
        var cold = await cluster.Grains.GetGrain<IItemGrain>("cold").GetCooccurrenceAsync(10);
        Assert.Equal(2 * (sources + 1), cold.Count);
        var stored = await cluster.Store.LoadItemsAsync(["hot", "cold"], CancellationToken.None);
        Assert.Equal(sources + 1, stored["hot"].State.Count);
    }

    [Fact]
    public async Task An_item_shard_that_fails_halfway_through_a_batch_counts_the_batch_once_when_it_comes_again()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(await NewStorageAsync(), silos: 1, partitions: 1);
        var shard = cluster.Grains.GetGrain<IItemShardGrain>(6);
        Assert.True(await shard.ApplyAsync(0, 10, new ItemDeltaBatch([Deltas.Of("first", 1, new() { ["x"] = 1 }), Deltas.Of("second", 1, new() { ["y"] = 1 })])));

        // The next batch's first item is applied, then its second fails: adding long.MaxValue to a count of 1
        // overflows (what a failed allocation under a memory limit does to a real batch).
        await Assert.ThrowsAnyAsync<Exception>(() => shard.ApplyAsync(0, 20, new ItemDeltaBatch([Deltas.Of("first", 1, new() { ["x"] = 1 }), Deltas.Of("second", 1, new() { ["y"] = long.MaxValue })])));

        // The batch comes again (here as it should have been): counted once, the half applied before dropped.
        Assert.True(await shard.ApplyAsync(0, 20, new ItemDeltaBatch([Deltas.Of("first", 1, new() { ["x"] = 1 }), Deltas.Of("second", 1, new() { ["y"] = 1 })])));
        var first = await shard.GetCooccurrenceAsync("first", 10);
        Assert.Equal((2L, 2L), (first.Count, first.Neighbors.Single(n => n.ItemId == "x").Count));
        var second = await shard.GetCooccurrenceAsync("second", 10);
        Assert.Equal((2L, 2L), (second.Count, second.Neighbors.Single(n => n.ItemId == "y").Count));
        var stored = await cluster.Store.LoadItemsAsync(["first", "second"], CancellationToken.None);
        Assert.Equal((2L, 2L), (stored["first"].State.Count, stored["second"].State.Count));

        // And the shard goes on: the next batch counts.
        Assert.True(await shard.ApplyAsync(0, 30, new ItemDeltaBatch([Deltas.Of("first", 1, new() { ["x"] = 1 })])));
        Assert.Equal(3L, (await shard.GetCooccurrenceAsync("first", 10)).Count);
    }

    [Fact]
    public async Task An_item_shard_whose_write_cannot_be_encoded_fails_its_callers_at_once_and_goes_on()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(await NewStorageAsync(), silos: 1, partitions: 1);
        var shard = cluster.Grains.GetGrain<IItemShardGrain>(5);
        Assert.True(await shard.ApplyAsync(0, 10, new ItemDeltaBatch([Deltas.Of("kept", 1, new() { ["x"] = 1 })])));

        // An item count below zero is applied (a delta may be negative) but cannot be stored: the write fails while
        // it encodes the item. Its caller hears why, not Orleans' time-out. (Sent from inside the silo, where a call
        // hands the shard the batch as it is: a client's codec would refuse the negative count before sending.)
        var local = cluster.SiloServices.Single().GetRequiredService<IGrainFactory>().GetGrain<IItemShardGrain>(5);
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => local.ApplyAsync(0, 20, new ItemDeltaBatch([Deltas.Of("broken", -1, [])])));
        Assert.Contains("counts are never negative", failed.ToString(), StringComparison.Ordinal);
        Assert.IsNotType<TimeoutException>(failed);

        // The shard reads itself again and goes on from what is stored.
        Assert.True(await shard.ApplyAsync(0, 30, new ItemDeltaBatch([Deltas.Of("kept", 1, new() { ["x"] = 1 })])));
        Assert.Equal(2L, (await shard.GetCooccurrenceAsync("kept", 10)).Count);
        Assert.Equal(0L, (await shard.GetCooccurrenceAsync("broken", 10)).Count);
        var stored = await cluster.Store.LoadItemsAsync(["kept", "broken"], CancellationToken.None);
        Assert.Equal(2L, stored["kept"].State.Count);
        Assert.False(stored.ContainsKey("broken"));
    }

    internal static async Task AssertEqualsRecountAsync(OrleansTestCluster cluster, IReadOnlyList<ClickEvent> events, int items)
    {
        var users = Recount.Users(events, Recount.TestRule.WindowSize);
        var wrongUsers = new List<string>();
        foreach (var (userId, expected) in users)
        {
            var history = await cluster.Grains.GetGrain<IUserGrain>(userId).GetHistoryAsync();
            if (history is null || history.TotalEvents != expected.Total || !history.RecentItems.Select(r => r.ItemId).SequenceEqual(expected.Window))
            {
                wrongUsers.Add($"{userId}: {history?.TotalEvents.ToString() ?? "none"} events, expected {expected.Total}");
            }
        }

        var expectedItems = Recount.Items(events, Recount.TestRule);
        Assert.True(expectedItems.Values.Any(e => e.NextRow.Count > 0), "the workload made no sequential counts; comparing them would prove nothing");
        var wrongItems = new List<string>();
        for (var i = 0; i < items; i++)
        {
            var itemId = $"sku-{i}";
            var served = await cluster.Grains.GetGrain<IItemGrain>(itemId).GetCooccurrenceAsync(10_000);
            var expected = expectedItems.GetValueOrDefault(itemId);
            var row = served.Neighbors.ToDictionary(n => n.ItemId, n => n.Count);
            var purchaseRow = (served.PurchaseNeighbors ?? []).ToDictionary(n => n.ItemId, n => n.Count);
            var nextRow = (served.NextNeighbors ?? []).ToDictionary(n => n.ItemId, n => n.Count);
            var same = expected is null
                ? served.Count == 0 && row.Count == 0 && nextRow.Count == 0
                : served.Count == expected.Count && served.PurchaseCount == expected.PurchaseCount && SameRow(row, expected.Row) && SameRow(purchaseRow, expected.PurchaseRow) && SameRow(nextRow, expected.NextRow);
            if (!same)
            {
                wrongItems.Add($"{itemId}: N={served.Count} (expected {expected?.Count ?? 0}), row {row.Values.Sum()} (expected {expected?.Row.Values.Sum() ?? 0}), next row {nextRow.Values.Sum()} (expected {expected?.NextRow.Values.Sum() ?? 0})");
            }
        }

        Assert.True(wrongUsers.Count == 0, $"{wrongUsers.Count} of {users.Count} users differ from the recount: {string.Join("; ", wrongUsers.Take(10))}");
        Assert.True(wrongItems.Count == 0, $"{wrongItems.Count} of {items} items differ from the recount: {string.Join("; ", wrongItems.Take(10))}");
    }

    [Fact]
    public async Task A_stored_position_past_the_end_of_a_new_log_stops_its_ingress_with_both_offsets_and_applies_nothing()
    {
        // A first cluster counts some events into the database...
        var storage = await NewStorageAsync();
        var events = ClusterClient.Events(seed: 5, count: 600, users: 60, items: 40, userPrefix: "old");
        await using (var first = await OrleansTestCluster.StartAsync(storage, silos: 1, partitions: 3))
        {
            await first.ProduceAsync(events);
            await first.WaitUntilCaughtUpAsync(CatchUp);
        }

        // ...then the same database meets a new, empty Kafka, as a second run of the by-hand cluster does.
        await using var second = await OrleansTestCluster.StartAsync(storage, silos: 1, partitions: 3);
        var stored = await second.CheckpointsAsync();
        Assert.All(Enumerable.Range(0, 3), p => Assert.True(stored[p].NextOffset > 0, $"partition {p} stored nothing in the first run"));
        var statuses = await Eventually.ValueAsync(
            async () => await second.IngressesAsync() is var all && all.All(s => s.Blocked is not null) ? all : null,
            CatchUp,
            "every ingress refusing its stored position");
        foreach (var status in statuses)
        {
            Assert.Contains($"events partition {status.Partition}:", status.Blocked, StringComparison.Ordinal);
            Assert.Contains($"stored position {stored[status.Partition].NextOffset} is outside the log, which holds offsets [0, 0)", status.Blocked, StringComparison.Ordinal);
        }

        // Every silo's keeper holds the blocked statuses, from which its /readyz answers 503 naming them.
        await Eventually.TrueAsync(
            () => Task.FromResult(second.SiloServices.All(s => s.GetRequiredService<GrainKeeper>().LastStatuses.Count(st => st.Blocked is not null) == 3)),
            CatchUp,
            "every silo's keeper reporting the three blocked partitions");

        // New events are neither applied nor dropped as replays: the partitions wait for an operator.
        var late = new ClickEvent("old-1", "sku-new", EventType.View, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
        await second.ProduceAsync([late]);
        var history = await second.Grains.GetGrain<IUserGrain>("old-1").GetHistoryAsync();
        Assert.DoesNotContain(history?.RecentItems ?? [], i => i.ItemId == "sku-new");
        Assert.All(await second.IngressesAsync(), s => Assert.NotNull(s.Blocked));
        Assert.Equal(stored.Values.Select(c => c.NextOffset).Order(), (await second.CheckpointsAsync()).Values.Select(c => c.NextOffset).Order());
    }

    private static bool SameRow(IReadOnlyDictionary<string, long> served, IReadOnlyDictionary<string, long> expected) =>
        served.Count == expected.Count && expected.All(e => served.GetValueOrDefault(e.Key) == e.Value);
}

public sealed class SqliteOrleansIngressTests : OrleansIngressTests
{
    protected override Task<TestStorage> NewStorageAsync() => Task.FromResult(TestDatabases.NewSqlite());
}

public sealed class PostgresOrleansIngressTests : OrleansIngressTests
{
    protected override Task<TestStorage> NewStorageAsync() => TestDatabases.NewPostgresAsync();
}
