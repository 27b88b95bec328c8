using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

public class ClusterDirectoryTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static (ClusterDirectory Directory, ManualTimeProvider Clock) Create()
    {
        var clock = new ManualTimeProvider(Now);
        var directory = new ClusterDirectory(
            Options.Create(new KafkaOptions { BootstrapServers = "127.0.0.1:1" }),
            Options.Create(new DirectoryOptions { EntryTtlMs = 10_000 }),
            clock,
            NullLogger<ClusterDirectory>.Instance);
        return (directory, clock);
    }

    private static byte[] Entry(string silo, int[] partitions, long changedAt, long heartbeat) =>
        DirectoryCodec.Encode(new SiloDirectoryEntry(silo, $"http://{silo}", partitions, 4, changedAt, heartbeat, ItemPartitions: partitions));

    [Fact]
    public void The_most_recent_claim_comes_first_while_two_silos_claim_a_partition()
    {
        var (directory, _) = Create();
        var t = Now.ToUnixTimeMilliseconds();
        directory.Apply("a", Entry("a", [0, 1, 2, 3], changedAt: t - 5_000, heartbeat: t - 100));
        directory.Apply("b", Entry("b", [2, 3], changedAt: t - 50, heartbeat: t - 50));

        Assert.Equal(["b", "a"], directory.OwnersOf(2).Select(e => e.SiloId));
        Assert.Equal(["b", "a"], directory.OwnersOf(2, GrainRole.Item).Select(e => e.SiloId));
        Assert.Equal(["a"], directory.OwnersOf(0).Select(e => e.SiloId));
        Assert.True(directory.CoversAllPartitions());
        Assert.Equal(4, directory.PartitionCount());
    }

    [Fact]
    public void A_tombstone_removes_a_silo_and_a_silent_one_expires()
    {
        var (directory, clock) = Create();
        var t = Now.ToUnixTimeMilliseconds();
        directory.Apply("a", Entry("a", [0, 1], t, t));
        directory.Apply("b", Entry("b", [2, 3], t, t));
        directory.Apply("a", null);
        Assert.Equal(["b"], directory.Live().Select(e => e.SiloId));
        Assert.False(directory.CoversAllPartitions());

        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Empty(directory.Live());
        Assert.Equal(0, directory.PartitionCount());
    }

    [Fact]
    public void An_older_heartbeat_never_replaces_a_newer_one()
    {
        var (directory, _) = Create();
        var t = Now.ToUnixTimeMilliseconds();
        directory.Apply("a", Entry("a", [0, 1, 2, 3], t, t));
        directory.Apply("a", Entry("a", [0], t - 10, t - 10));
        Assert.Equal([0, 1, 2, 3], directory.Live().Single().Partitions);
    }
}
