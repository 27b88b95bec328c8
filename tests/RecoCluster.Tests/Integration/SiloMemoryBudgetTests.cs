using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Silo.Items;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// A silo's memory budgets: the ingresses' (<c>Reco:Ingress:SiloRecordBudget</c>, <c>SiloUsersInMemory</c>) shared
/// among the partitions it reads, batches and users in memory shrinking as a silo holds more partitions and growing
/// back as they move away; and the item shards' (<c>Reco:Items:SiloMemoryMiB</c>), beyond which they forget items.
/// The counts stay exact either way.
/// </summary>
[Collection("cluster")]
public sealed class SiloMemoryBudgetTests
{
    private static readonly TimeSpan CatchUp = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_silo_shares_its_budgets_among_its_partitions_and_the_counts_stay_exact()
    {
        // 12,000 records and 4,000 users for one silo reading 4 partitions: batches of at most 1,000 records, 1,000
        // users in memory each, of about 1,500 each partition has.
        var settings = new Dictionary<string, string> { ["Reco:Ingress:SiloRecordBudget"] = "12000", ["Reco:Ingress:SiloUsersInMemory"] = "4000" };
        var events = ClusterClient.Events(seed: 95, count: 20_000, users: 6_000, items: 100);
        await using var cluster = await OrleansTestCluster.StartAsync(
            TestDatabases.NewSqlite(), silos: 1, partitions: 4, settings,
            beforeSilos: (servers, topics) => OrleansTestCluster.ProduceAsync(servers, topics, events.Take(8_000)));

        Assert.All(await cluster.IngressesAsync(), s => Assert.Equal(1_000, s.BatchLimit));
        await cluster.WaitUntilCaughtUpAsync(CatchUp);

        // With all four running, a burst of about 2,000 events a partition is taken 1,000 at most at a time.
        var before = (await cluster.IngressesAsync()).ToDictionary(s => s.Partition);
        await cluster.ProduceAsync(events.Skip(8_000).Take(8_000));
        await cluster.WaitUntilCaughtUpAsync(CatchUp);
        Assert.All(await cluster.IngressesAsync(), s =>
        {
            var (applied, batches) = (s.Applied - before[s.Partition].Applied, s.Batches - before[s.Partition].Batches);
            Assert.True(applied > 1_000 && batches * 1_000 >= applied, $"partition {s.Partition}: {applied} events in {batches} batches");
            Assert.InRange(s.UsersInMemory, 1, 1_000);
        });

        // A second silo takes half the partitions: each silo now shares the same budget between two.
        await cluster.Cluster.StartAdditionalSiloAsync();
        await cluster.WaitUntilIngressesSettledAsync(CatchUp);
        await Eventually.TrueAsync(
            async () => (await cluster.IngressesAsync()).All(s => s.BatchLimit == 2_000),
            CatchUp,
            "every partition's batch limit at 2,000 (two partitions per silo)");

        await cluster.ProduceAsync(events.Skip(16_000));
        await cluster.WaitUntilCaughtUpAsync(CatchUp);
        Assert.All(await cluster.IngressesAsync(), s => Assert.InRange(s.UsersInMemory, 1, 2_000));
        await OrleansIngressTests.AssertEqualsRecountAsync(cluster, events, items: 100);
    }

    [Fact]
    public async Task Item_shards_over_their_memory_budget_forget_items_and_the_counts_stay_exact()
    {
        // 1 MiB for the items of one silo's 4 shards, 256 KiB each, and 5,000 items of about half a kilobyte or more:
        // the shards keep forgetting and loading items again as the batches touch them.
        var settings = new Dictionary<string, string> { ["Reco:Items:Shards"] = "4", ["Reco:Items:SiloMemoryMiB"] = "1" };
        var events = ClusterClient.Events(seed: 94, count: 20_000, users: 500, items: 5_000);
        await using var cluster = await OrleansTestCluster.StartAsync(TestDatabases.NewSqlite(), silos: 1, partitions: 4, settings);
        var memory = cluster.SiloServices.Single().GetRequiredService<ItemMemoryBudget>();

        foreach (var chunk in events.Chunk(5_000))
        {
            await cluster.ProduceAsync(chunk);
            await cluster.WaitUntilCaughtUpAsync(CatchUp);
        }

        Assert.True(memory.Forgotten > 0, "no item was forgotten: the test proves nothing");
        await OrleansIngressTests.AssertEqualsRecountAsync(cluster, events, items: 5_000);
    }
}
