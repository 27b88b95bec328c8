using System.Net.Http.Json;
using System.Text.Json;
using RecoCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// The cluster as separate <c>reco</c> processes, as the README starts it by hand: a silo dies by SIGKILL in the
/// middle of the stream, comes back, a fourth joins, one leaves by SIGTERM; the served state still equals a
/// recount of every event, and no partition was ever written by two silos.
/// </summary>
[Collection("cluster")]
public sealed class MultiProcessClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task Kill_9_restart_join_and_sigterm_lose_and_double_nothing(string provider)
    {
        var storage = provider == "Sqlite" ? TestDatabases.NewSqlite() : await TestDatabases.NewPostgresAsync();
        await using var cluster = await ProcessCluster.StartAsync(storage, silos: 3);
        try
        {
            // The grain runtime issue's scenario: 100k events over 2k users and 500 items.
            var events = ClusterClient.Events(seed: 2026, count: 100_000, users: 2_000, items: 500);
            var chunks = events.Chunk(10_000).ToList();

            await cluster.ProduceAsync(chunks[0]);
            await cluster.ProduceAsync(chunks[1]);
            var inFlight = cluster.ProduceAsync(chunks[2].Concat(chunks[3]));
            cluster.Kill(cluster.Silos[0]);
            await inFlight;
            await cluster.ProduceAsync(chunks[4]);

            cluster.StartSilo(); // the killed silo's replacement, on the same storage
            await cluster.ProduceAsync(chunks[5].Concat(chunks[6]));
            cluster.StartSilo(); // a fourth silo joins
            await cluster.ProduceAsync(chunks[7]);

            var leaving = cluster.Silos[0];
            Assert.Equal(0, await cluster.TerminateAsync(leaving));
            Assert.Contains("Final checkpoint", leaving.Log(), StringComparison.Ordinal);
            await cluster.ProduceAsync(chunks[8].Concat(chunks[9]));

            await cluster.WaitUntilReadyAsync();
            await cluster.AssertServedEqualsRecountAsync(events, Deadline);
            await cluster.AssertItemsEqualRecountAsync(events, Deadline);

            var admin = await cluster.Gateway.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
            var silos = admin.GetProperty("silos").EnumerateArray().ToList();
            Assert.Equal(3, silos.Count);
            Assert.All(silos, s => Assert.Equal(0, s.GetProperty("detail").GetProperty("stats").GetProperty("fencingViolations").GetInt64()));

            // Lag as the admin view reports it: the events partitions' log ends add up to every event produced,
            // and nothing is left to apply.
            await Eventually.TrueAsync(
                async () =>
                {
                    var view = await cluster.Gateway.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
                    var partitions = view.GetProperty("silos").EnumerateArray()
                        .SelectMany(s => s.GetProperty("detail").GetProperty("partitions").EnumerateArray()).ToList();
                    var events = partitions.Where(p => p.GetProperty("topic").GetString()!.EndsWith(".events", StringComparison.Ordinal)).ToList();
                    return events.Sum(p => p.GetProperty("highWatermark").GetInt64()) == 100_000
                        && partitions.All(p => p.GetProperty("lag").GetInt64() == 0);
                },
                TimeSpan.FromSeconds(20),
                "the admin view showing 100,000 events in the log and zero lag");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
