using System.Net.Http.Json;
using System.Text.Json;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>Partitions' ingresses and the grains move between Orleans silos (graceful stop, join, full restart)
/// without losing or doubling an event: the served state equals a recount. Run against each storage provider.</summary>
public abstract class RebalanceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    protected abstract Task<TestStorage> CreateStorageAsync();

    [Fact]
    public async Task State_survives_silos_leaving_joining_and_a_full_restart_with_nothing_lost_or_doubled()
    {
        await using var cluster = await TestCluster.StartAsync(await CreateStorageAsync(), silos: 2);
        var all = ClusterClient.Events(seed: 11, count: 1500, users: 150, items: 60);

        // Phase 1: two silos.
        await cluster.ProduceAsync(all.Take(500));
        await cluster.AssertServedEqualsRecountAsync(all.Take(500).ToList(), Deadline);

        // Phase 2: one silo leaves (SIGTERM path) while events keep coming; a new one joins.
        var produce = cluster.ProduceAsync(all.Skip(500).Take(500));
        var leaving = TestCluster.AddressOf(cluster.Silos[0]).ToString();
        await cluster.StopSiloAsync(cluster.Silos[0]);

        // The move shows in the admin view within seconds: the leaver is gone from the membership and the survivor
        // runs every partition's ingress.
        var survivor = TestCluster.AddressOf(cluster.Silos[0]).ToString();
        await Eventually.TrueAsync(
            async () =>
            {
                var admin = await cluster.Gateway.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
                var silos = admin.GetProperty("silos").EnumerateArray().ToList();
                return silos.Count == 1
                    && silos[0].GetProperty("address").GetString() == survivor
                    && silos[0].GetProperty("ingresses").EnumerateArray().Select(p => p.GetInt32()).Order()
                        .SequenceEqual(Enumerable.Range(0, cluster.Partitions));
            },
            TimeSpan.FromSeconds(30),
            $"the admin view showing {leaving}'s ingresses moved to {survivor}");
        await cluster.AddSiloAsync();
        await produce;
        await cluster.WaitUntilReadyAsync();
        await cluster.AssertServedEqualsRecountAsync(all.Take(1000).ToList(), Deadline);
        await cluster.AssertItemsEqualRecountAsync(all.Take(1000).ToList(), Deadline);

        // Phase 3: every silo stops; a fresh one restores everything from the checkpoints, then goes on.
        foreach (var silo in cluster.Silos.ToList())
        {
            await cluster.StopSiloAsync(silo);
        }

        await cluster.AddSiloAsync();
        await cluster.WaitUntilReadyAsync();
        await cluster.AssertServedEqualsRecountAsync(all.Take(1000).ToList(), Deadline);
        await cluster.ProduceAsync(all.Skip(1000));
        await cluster.AssertServedEqualsRecountAsync(all, Deadline);
        await cluster.AssertItemsEqualRecountAsync(all, Deadline);
    }
}

[Collection("cluster")]
public sealed class SqliteRebalanceTests : RebalanceTests
{
    protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult(TestDatabases.NewSqlite());
}

[Collection("cluster")]
public sealed class PostgresRebalanceTests : RebalanceTests
{
    protected override Task<TestStorage> CreateStorageAsync() => TestDatabases.NewPostgresAsync();
}
