using System.Globalization;
using Confluent.Kafka;

namespace RecoCluster.Bench.Group;

/// <summary>
/// One consumer-group member in a process of its own (<c>RecoCluster.Bench group-member …</c>), so the group bench
/// can SIGKILL it. After every rebalance callback it prints <c>owned UNIX_MS p,p,…</c>: the partitions it holds
/// from then on, stamped with the wall clock, which the parent compares across members on the same machine.
/// SIGTERM makes it leave the group (Close), as a silo does.
/// </summary>
public static class GroupMember
{
    /// <summary>Arguments: <c>--bootstrap</c>, <c>--topic</c>, <c>--group</c>, <c>--protocol classic|consumer</c>,
    /// <c>--session-ms</c> (classic only: KIP-848 session timeouts are the broker's).</summary>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var protocol = BenchArgs.String(args, "--protocol") ?? "classic";
        var config = new ConsumerConfig
        {
            BootstrapServers = BenchArgs.String(args, "--bootstrap") ?? throw new ArgumentException("--bootstrap is required"),
            GroupId = BenchArgs.String(args, "--group") ?? throw new ArgumentException("--group is required"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        if (protocol == "consumer")
        {
            config.Set("group.protocol", "consumer");
        }
        else
        {
            config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;
            config.SessionTimeoutMs = BenchArgs.Int(args, "--session-ms", 6_000);
            config.HeartbeatIntervalMs = Math.Max(100, config.SessionTimeoutMs.Value / 4);
        }

        var owned = new SortedSet<int>();
        void Report() => Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"owned {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} {string.Join(',', owned)}"));

        using var stop = new CancellationTokenSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(config)
            .SetPartitionsAssignedHandler((_, ps) =>
            {
                owned.UnionWith(ps.Select(p => p.Partition.Value));
                Report();
            })
            .SetPartitionsRevokedHandler((_, ps) =>
            {
                owned.ExceptWith(ps.Select(p => p.Partition.Value));
                Report();
            })
            .SetPartitionsLostHandler((_, ps) =>
            {
                owned.ExceptWith(ps.Select(p => p.Partition.Value));
                Report();
            })
            .SetLogHandler((_, _) => { })
            .Build();
        consumer.Subscribe(BenchArgs.String(args, "--topic") ?? throw new ArgumentException("--topic is required"));
        Console.Out.WriteLine("started");
        while (!stop.IsCancellationRequested)
        {
            consumer.Consume(TimeSpan.FromMilliseconds(100));
        }

        consumer.Close();
        Console.Out.WriteLine("closed");
        return 0;
    }
}
