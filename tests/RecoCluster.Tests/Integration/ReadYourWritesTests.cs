using Orleans.Core.Internal;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// Read-your-writes across a partition's move: a read that reaches the partition's ingress while it is starting
/// (a new activation re-applying what the old one had applied) waits for it, instead of answering behind.
/// </summary>
[Collection("cluster")]
public sealed class ReadYourWritesTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_read_that_meets_its_partitions_ingress_starting_waits_for_the_start_and_then_for_its_position()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(TestDatabases.NewSqlite(), silos: 1, partitions: 1);
        var ingress = cluster.Grains.GetGrain<IPartitionIngressGrain>(0);
        var first = new ClickEvent("ryw-1", "sku-1", EventType.View, DateTimeOffset.FromUnixTimeMilliseconds(1_765_000_000_000));
        await cluster.ProduceAsync([first]);
        var end = Assert.Single(cluster.HighWatermarks());
        var (history, behind) = await ingress.GetUserHistoryAsync("ryw-1", new ReadPosition(end, Deadline));
        Assert.False(behind);
        Assert.Equal("sku-1", history!.RecentItems[0].ItemId);
        var epoch = (await ingress.EnsureRunningAsync()).Epoch;

        // Every answer of the broker now takes 1.5 s, so the ingress's next activation knows nothing of its log for
        // that long after it starts: it is starting, whatever the machine's load.
        cluster.Kafka.SetBrokerRtt(1, 1_500);
        try
        {
            await ingress.Cast<IGrainManagementExtension>().DeactivateOnIdle();

            // A read of the next event, which is not produced yet, with no wait of its own: only the start wait can
            // keep it open until the event is produced and applied.
            var read = ingress.GetUserHistoryAsync("ryw-1", new ReadPosition(end + 1, TimeSpan.Zero, Deadline));
            await cluster.ProduceAsync([first with { ItemId = "sku-2", Timestamp = first.Timestamp.AddSeconds(1) }]);
            cluster.Kafka.SetBrokerRtt(1, 0);

            (history, behind) = await read;
            Assert.False(behind, "the read met a starting ingress and answered behind instead of waiting");
            Assert.Equal(["sku-2", "sku-1"], history!.RecentItems.Select(i => i.ItemId));
            Assert.True((await ingress.EnsureRunningAsync()).Epoch > epoch, "the read did not meet a new activation of the ingress");
        }
        finally
        {
            cluster.Kafka.SetBrokerRtt(1, 0);
        }
    }
}
