using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// A silo's <c>/readyz</c> while a dependency is away, as the orchestrator sees it: PostgreSQL cut behind a proxy,
/// then the Kafka broker down (the mock's broker). While each lasts the silo refuses readiness and names it; once it
/// is back the silo is ready again and what was produced meanwhile equals a recount (the outages' exactness on
/// their own, with several silos, is <see cref="OrleansOutageTests"/>).
/// </summary>
[Collection("cluster")]
public sealed class SiloReadinessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Readyz_names_the_database_and_then_kafka_while_each_is_down_and_nothing_is_lost()
    {
        var (proxy, storage) = await TestDatabases.NewPostgresBehindProxyAsync();
        await using var proxyLifetime = proxy;
        await using var cluster = await TestCluster.StartAsync(storage, silos: 1, partitions: 4);
        using var silo = new HttpClient { BaseAddress = new Uri(cluster.Silos[0].Urls.First()) };
        var events = ClusterClient.Events(seed: 97, count: 3_000, users: 200, items: 60);
        await cluster.ProduceAsync(events.Take(1_000));
        Assert.Equal("ready", await StatusAsync(silo));

        proxy.SetDown();
        try
        {
            await cluster.ProduceAsync(events.Skip(1_000).Take(1_000));
            await Eventually.TrueAsync(async () => await StatusAsync(silo) == "storage unreachable", Deadline, "/readyz naming the storage");

            // Reads that need the database (a user and an item no grain holds in memory) say it is away: 503 with
            // Retry-After, the answer to a request that is fine, not a 500.
            foreach (var path in new[] { "/v1/users/never-seen", "/v1/admin/items/never-seen/cooccurrence" })
            {
                using var read = await cluster.Gateway.GetAsync(new Uri(path, UriKind.Relative));
                Assert.True(read.StatusCode == HttpStatusCode.ServiceUnavailable, $"{path}: {(int)read.StatusCode} {await read.Content.ReadAsStringAsync()}");
                Assert.NotNull(read.Headers.RetryAfter);
            }
        }
        finally
        {
            proxy.SetUp();
        }

        await Eventually.TrueAsync(async () => await StatusAsync(silo) == "ready", Deadline, "the silo ready again once the database is back");

        cluster.Kafka.SetBrokerDown(1);
        try
        {
            await Eventually.TrueAsync(async () => await StatusAsync(silo) == "kafka unreachable", Deadline, "/readyz naming Kafka");
        }
        finally
        {
            cluster.Kafka.SetBrokerUp(1);
        }

        await Eventually.TrueAsync(async () => await StatusAsync(silo) == "ready", Deadline, "the silo ready again once the broker is back");
        await cluster.ProduceAsync(events.Skip(2_000));
        await cluster.AssertServedEqualsRecountAsync(events, TimeSpan.FromSeconds(60));
        await cluster.AssertItemsEqualRecountAsync(events, TimeSpan.FromSeconds(60));
    }

    private static async Task<string?> StatusAsync(HttpClient silo)
    {
        using var response = await silo.GetAsync(new Uri("/readyz", UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var status = body.GetProperty("status").GetString();
        // A refusal always says why, and only a 200 says ready.
        Assert.Equal(status == "ready", response.IsSuccessStatusCode);
        return status;
    }
}
