using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>PostgreSQL disappears for ten seconds in the middle of ingest: the silo pauses, then catches up, and
/// the state still equals a recount. The outage is real: every connection goes through a proxy that is cut.</summary>
[Collection("cluster")]
public sealed class DatabaseOutageTests
{
    [Fact]
    public async Task A_ten_second_database_outage_during_ingest_loses_nothing()
    {
        var (proxy, storage) = await ProxiedPostgresAsync();
        await using var proxyLifetime = proxy;
        // A small queue bound, so the outage has to pause fetching rather than buffer everything in memory.
        await using var cluster = await TestCluster.StartAsync(
            storage,
            silos: 1,
            overrides: new Dictionary<string, string?> { ["Reco:Silo:MaxQueuedRecordsPerPartition"] = "50" });
        var events = ClusterClient.Events(seed: 99, count: 6_000, users: 300, items: 80);
        var silo = TestCluster.FirstRuntimeOf(cluster.Silos[0]);
        using var siloHttp = new HttpClient { BaseAddress = new Uri(silo.Address.Url!) };

        await cluster.ProduceAsync(events.Take(2_000));
        proxy.SetDown();
        var outage = DateTime.UtcNow;
        await cluster.ProduceAsync(events.Skip(2_000).Take(3_000));

        // While the database is away the silo says it is not ready, and fetching pauses at the bound.
        await Eventually.TrueAsync(
            async () => (await siloHttp.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(10),
            "the silo reporting not ready during the outage");
        await Eventually.TrueAsync(() => Task.FromResult(silo.Stats.Pauses > 0), TimeSpan.FromSeconds(10), "a partition pausing at its queue bound");

        var remaining = TimeSpan.FromSeconds(10) - (DateTime.UtcNow - outage);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }

        proxy.SetUp();
        await cluster.ProduceAsync(events.Skip(5_000));

        await cluster.AssertServedEqualsRecountAsync(events, TimeSpan.FromSeconds(60));
        await cluster.AssertItemsEqualRecountAsync(events, TimeSpan.FromSeconds(60));
        Assert.Equal(0, silo.Stats.FencingViolations);
    }

    [Fact]
    public async Task A_silo_still_loading_its_partitions_is_not_ready()
    {
        var (proxy, storage) = await ProxiedPostgresAsync();
        await using var proxyLifetime = proxy;
        await using var cluster = await TestCluster.StartAsync(storage, silos: 1);
        await cluster.ProduceAsync(ClusterClient.Events(seed: 4, count: 500, users: 50, items: 20));

        // A second silo starts (its schema check passes), then the database goes away: it can join the group but
        // cannot claim and load the partitions it is given.
        var joining = await cluster.AddSiloAsync();
        proxy.SetDown();
        using var http = new HttpClient { BaseAddress = new Uri(TestCluster.FirstRuntimeOf(joining).Address.Url!) };
        for (var i = 0; i < 10; i++)
        {
            using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("loading", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
            await Task.Delay(300);
        }

        proxy.SetUp();
        await Eventually.TrueAsync(
            async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30),
            "the joining silo becoming ready once it could load its partitions");
        await cluster.WaitUntilReadyAsync();
    }

    // A fresh PostgreSQL database reached only through a proxy the test can cut. Short timeouts, so a cut shows
    // within seconds rather than after Npgsql's defaults.
    private static async Task<(TcpProxy Proxy, TestStorage Storage)> ProxiedPostgresAsync()
    {
        var direct = await TestDatabases.NewPostgresAsync();
        var target = new NpgsqlConnectionStringBuilder(direct.ConnectionString);
        var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3, CommandTimeout = 5 };
        return (proxy, new TestStorage("Postgres", viaProxy.ConnectionString));
    }
}
