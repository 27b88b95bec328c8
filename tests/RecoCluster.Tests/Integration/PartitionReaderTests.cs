using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Silo.Ingress;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// A partition's reader against the embedded Kafka: it holds no more records than its limit, which its ingress
/// lowers and raises while it runs (its silo's record budget shared among more or fewer partitions).
/// </summary>
public sealed class PartitionReaderTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_reader_holds_no_more_than_its_limit_and_follows_it_as_it_moves()
    {
        using var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"r{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, 1);
        var events = ClusterClient.Events(seed: 3, count: 1_000, users: 50, items: 20);
        await OrleansTestCluster.ProduceAsync(kafka.BootstrapServers, topics, events);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var options = new KafkaOptions { BootstrapServers = kafka.BootstrapServers, TopicPrefix = topics.Prefix };
        using var reader = new PartitionReader(options, 0, 0, capacity: 1_000, limit: 100, new KafkaStatistics(services.GetRequiredService<IMeterFactory>()), NullLogger.Instance);

        // Held at 100, with 900 more in the log: it stops there.
        await HeldAtAsync(reader, 100);

        // Raised: it reads on to the new limit.
        reader.Limit = 300;
        await HeldAtAsync(reader, 300);

        // Lowered below what it holds: what it holds stays; once the ingress has taken records, it reads only up to
        // the new limit.
        reader.Limit = 50;
        Assert.Equal(300, reader.Records.Count);
        for (var i = 0; i < 280; i++)
        {
            Assert.True(reader.Records.TryRead(out _));
        }

        reader.Took(); // without this signal the reader would wait for good, and the test time out
        await HeldAtAsync(reader, 50);
    }

    // Waits until the reader holds `limit` records, then gives it the time of a few more fetches to go past it.
    private static async Task HeldAtAsync(PartitionReader reader, int limit)
    {
        await Eventually.TrueAsync(() => Task.FromResult(reader.Records.Count >= limit), Deadline, $"{limit} records read");
        Assert.Equal(limit, reader.Records.Count);
        await Task.Delay(200); // a bound that would be passed within this; its absence cannot be waited for
        Assert.Equal(limit, reader.Records.Count);
    }
}
