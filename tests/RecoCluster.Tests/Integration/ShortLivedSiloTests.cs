using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// Silos stopped moments after they start, as a crash-looping pod or a quick scale-up-then-down does. With
/// Debian's librdkafka 2.0.2 this took the test host down about one run in three (librdkafka#4312: a consumer
/// destroyed between its first JoinGroup response and its first assignment aborts the process); the bundled 2.16
/// has no such window. Either way, quick start-stop cycles must lose and double nothing. On Orleans silos: each
/// short-lived one joins the membership, may take ingresses and grains, and hands them back as it stops.
/// </summary>
[Collection("cluster")]
public sealed class ShortLivedSiloTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Silos_stopped_right_after_starting_leave_cleanly_and_lose_nothing()
    {
        await using var cluster = await TestCluster.StartAsync(TestDatabases.NewSqlite(), silos: 1);
        var events = ClusterClient.Events(seed: 5, count: 1200, users: 100, items: 40);

        foreach (var batch in events.Chunk(400))
        {
            var produce = cluster.ProduceAsync(batch);
            var shortLived = await cluster.AddSiloAsync();
            await cluster.StopSiloAsync(shortLived);
            await produce;
        }

        await cluster.WaitUntilReadyAsync();
        await cluster.AssertServedEqualsRecountAsync(events, Deadline);
        await cluster.AssertItemsEqualRecountAsync(events, Deadline);
    }
}
