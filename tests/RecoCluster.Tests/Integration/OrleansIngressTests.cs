using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Silo.Hosting;
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
        // (cut, partly sent to the grains, not yet checkpointed) when it dies.
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
    public async Task A_user_stores_a_batch_only_when_told_and_a_replay_counts_once()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(await NewStorageAsync(), silos: 1, partitions: 1);
        var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var user = cluster.Grains.GetGrain<IUserGrain>("replay-user");
        var userRow = user.GetGrainId().ToString();
        UserBatchRecord Record(long offset, string item, EventType type) => new(offset, new ClickEvent("replay-user", item, type, at.AddSeconds(offset)));
        var first = new UserEventBatch(0, 2, [Record(0, "a", EventType.View), Record(1, "b", EventType.Purchase)]);
        var applied = await user.ApplyAsync(first);
        Assert.False(applied.Replayed);

        // Applied in memory only: nothing is stored before the ingress has stored the batch's item side, and the same
        // batch again is answered from memory with the same item side.
        Assert.Null(await cluster.Store.ReadGrainStateAsync("user", userRow, CancellationToken.None));
        var again = await user.ApplyAsync(first);
        Assert.False(again.Replayed);
        Assert.Equal(Describe(applied.ItemSide), Describe(again.ItemSide));
        Assert.Equal(2, (await user.GetHistoryAsync())!.TotalEvents);

        await user.StoreAsync(2);
        Assert.NotNull(await cluster.Store.ReadGrainStateAsync("user", userRow, CancellationToken.None));
        var replayed = await user.ApplyAsync(first);
        Assert.True(replayed.Replayed);
        Assert.True(replayed.ItemSide.IsEmpty);
        await user.StoreAsync(2); // stored already: nothing to do
        Assert.Equal(2, (await user.GetHistoryAsync())!.TotalEvents);

        // A batch applied in memory and then replaced by another cut (a new reader) is dropped, not added to.
        Assert.False((await user.ApplyAsync(new UserEventBatch(0, 5, [Record(2, "c", EventType.View), Record(3, "d", EventType.View), Record(4, "e", EventType.View)]))).Replayed);
        Assert.Equal(5, (await user.GetHistoryAsync())!.TotalEvents);
        var recut = await user.ApplyAsync(new UserEventBatch(0, 3, [Record(2, "c", EventType.View)]));
        Assert.False(recut.Replayed);
        Assert.Equal(3, (await user.GetHistoryAsync())!.TotalEvents);
        await Assert.ThrowsAsync<InvalidOperationException>(() => user.StoreAsync(5)); // not the batch in memory
        await user.StoreAsync(3);

        // A replay whose item side the ingress has stored applies and stores in one call.
        var stored = await user.ApplyAsync(new UserEventBatch(0, 4, [Record(3, "d", EventType.View)], ItemSideStored: true));
        Assert.False(stored.Replayed);
        Assert.True(stored.ItemSide.IsEmpty);
        Assert.True((await user.ApplyAsync(new UserEventBatch(0, 4, [Record(3, "d", EventType.View)]))).Replayed);
        Assert.Equal(4, (await user.GetHistoryAsync())!.TotalEvents);

        var item = cluster.Grains.GetGrain<IItemGrain>("b");
        var delta = PerItem(applied.ItemSide).Single(d => d.ItemId == "b");
        Assert.True(await item.ApplyAsync(0, 2, delta));
        Assert.False(await item.ApplyAsync(0, 2, delta));
        Assert.False(await item.ApplyAsync(0, 1, delta));
        Assert.True(await item.ApplyAsync(1, 2, delta)); // another partition's batch with the same end is its own
        var counts = await item.GetCooccurrenceAsync(10);
        Assert.Equal(2 * delta.Count, counts.Count);
        Assert.Equal(2 * delta.Row()["a"], counts.Neighbors.Single(n => n.ItemId == "a").Count);
    }

    [Fact]
    public async Task Batches_of_many_partitions_meeting_at_one_item_share_its_writes_and_count_once_each()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(await NewStorageAsync(), silos: 1, partitions: 1);
        var item = cluster.Grains.GetGrain<IItemGrain>("hot");
        var delta = Deltas.Of("hot", 1, new() { ["other"] = 2 });
        const int sources = 40;

        // As the ingresses of 40 partitions would: one call each, all at once.
        var applied = await Task.WhenAll(Enumerable.Range(0, sources).Select(p => item.ApplyAsync(p, 10, delta)));
        Assert.All(applied, Assert.True);
        var counts = await item.GetCooccurrenceAsync(10);
        Assert.Equal(sources, counts.Count);
        Assert.Equal(2 * sources, counts.Neighbors.Single(n => n.ItemId == "other").Count);

        // Fewer writes than calls: the stored version counts the item's writes.
        var stored = await cluster.Store.ReadGrainStateAsync("item", item.GetGrainId().ToString(), CancellationToken.None);
        Assert.NotNull(stored);
        Assert.InRange(stored.Value.Version, 1, sources - 1);

        // Every one of them again, as after a crash before the checkpoints: all replays, nothing counted twice.
        var replayed = await Task.WhenAll(Enumerable.Range(0, sources).Select(p => item.ApplyAsync(p, 10, delta)));
        Assert.All(replayed, Assert.False);
        Assert.Equal(sources, (await item.GetCooccurrenceAsync(10)).Count);
    }

    // A user's item side as the ingress combines it: one delta per item.
    private static List<ItemDelta> PerItem(ItemSide side)
    {
        var combiner = new DeltaCombiner(new ItemIdTable());
        combiner.Add(side);
        return combiner.Drain();
    }

    private static string Describe(ItemSide side) => string.Join(
        "|",
        PerItem(side).OrderBy(d => d.ItemId, StringComparer.Ordinal).Select(d => $"{d.ItemId}:{d.Count}:{d.PurchaseCount}:" + string.Join(",", d.Row().OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}={r.Value}"))));

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
        var wrongItems = new List<string>();
        for (var i = 0; i < items; i++)
        {
            var itemId = $"sku-{i}";
            var served = await cluster.Grains.GetGrain<IItemGrain>(itemId).GetCooccurrenceAsync(10_000);
            var expected = expectedItems.GetValueOrDefault(itemId);
            var row = served.Neighbors.ToDictionary(n => n.ItemId, n => n.Count);
            var purchaseRow = (served.PurchaseNeighbors ?? []).ToDictionary(n => n.ItemId, n => n.Count);
            var same = expected is null
                ? served.Count == 0 && row.Count == 0
                : served.Count == expected.Count && served.PurchaseCount == expected.PurchaseCount && SameRow(row, expected.Row) && SameRow(purchaseRow, expected.PurchaseRow);
            if (!same)
            {
                wrongItems.Add($"{itemId}: N={served.Count} (expected {expected?.Count ?? 0}), row {row.Values.Sum()} (expected {expected?.Row.Values.Sum() ?? 0})");
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
