using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Silo.Ingress;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// A silo's partition readers against the embedded Kafka: one consumer for all of them, each reader holding no more
/// records than its limit (which its ingress lowers and raises while it runs), a partition held at its limit not
/// holding up the others, and every record of a partition held once, in order, from where its reader started,
/// however often it was held up at its limit or started again.
/// </summary>
public sealed class PartitionReaderTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly EmbeddedKafka _kafka = EmbeddedKafka.Start();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().AddSingleton<KafkaStatistics>().BuildServiceProvider();
    private readonly TopicNames _topics = new($"r{Guid.NewGuid():N}"[..12]);

    [Fact]
    public async Task A_reader_holds_no_more_than_its_limit_and_follows_it_as_it_moves()
    {
        await ProduceAsync(partitions: 1, events: 1_000);
        using var readers = Readers();
        var reader = readers.Start(0, 0, capacity: 1_000, limit: 100);

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

        reader.Took(); // without this signal the partition would stay off the consumer, and the test time out
        await HeldAtAsync(reader, 50);
    }

    [Fact]
    public async Task Partitions_share_one_consumer_and_one_held_at_its_limit_holds_up_no_other()
    {
        await ProduceAsync(partitions: 3, events: 3_000);
        using var readers = Readers();
        var held = readers.Start(0, 0, capacity: 10_000, limit: 10);
        var others = new[] { readers.Start(1, 0, capacity: 10_000, limit: 10_000), readers.Start(2, 0, capacity: 10_000, limit: 10_000) };

        foreach (var other in others)
        {
            var end = other.QueryLog(Deadline).End;
            Assert.True(end > 100, $"partition {other.Partition.Partition.Value} has {end} records; the test needs more");
            await Eventually.TrueAsync(() => Task.FromResult(other.Records.Count == end), Deadline, $"partition {other.Partition.Partition.Value} read to its end");
        }

        Assert.Equal(10, held.Records.Count);
        Assert.Equal(3, readers.Count);
    }

    [Fact]
    public async Task Every_record_is_held_once_and_in_order_however_often_its_partition_is_held_up()
    {
        await ProduceAsync(partitions: 1, events: 2_000);
        using var readers = Readers();
        var reader = readers.Start(0, 0, capacity: 10_000, limit: 37);
        var end = reader.QueryLog(Deadline).End;

        var offsets = await TakeAllAsync(reader, end);

        // At most 37 held at a time: the partition came off the consumer and back on some 54 times. Each record once,
        // in order, none skipped.
        Assert.Equal(Enumerable.Range(0, (int)end).Select(o => (long)o), offsets);
    }

    [Fact]
    public async Task A_partition_started_again_is_read_from_its_new_start_only()
    {
        await ProduceAsync(partitions: 1, events: 1_000);
        using var readers = Readers();
        var first = readers.Start(0, 0, capacity: 10_000, limit: 600);
        var end = first.QueryLog(Deadline).End;
        await HeldAtAsync(first, 600);

        // Started again at 250 while the first still runs (a new activation on the same silo): the first ends with
        // what it holds, and the second holds 250 onwards, nothing the first was fetching ahead.
        var second = readers.Start(0, 250, capacity: 10_000, limit: 10_000);
        Assert.Equal(Enumerable.Range(0, 600).Select(o => (long)o), Drain(first));
        Assert.True(first.Records.Completion.IsCompleted);
        var offsets = await TakeAllAsync(second, end - 250);
        Assert.Equal(Enumerable.Range(250, (int)end - 250).Select(o => (long)o), offsets);

        // Stopped, and started once more further back: from there again.
        readers.Stop(second);
        Assert.True(second.Records.Completion.IsCompleted);
        var third = readers.Start(0, 100, capacity: 10_000, limit: 10_000);
        Assert.Equal(Enumerable.Range(100, (int)end - 100).Select(o => (long)o), await TakeAllAsync(third, end - 100));
        Assert.Equal(1, readers.Count);
    }

    public void Dispose()
    {
        _services.Dispose();
        _kafka.Dispose();
    }

    private PartitionReaders Readers() => new(
        Options.Create(new KafkaOptions { BootstrapServers = _kafka.BootstrapServers, TopicPrefix = _topics.Prefix }),
        new IngressMemoryBudget(new IngressOptions(), 0),
        _services.GetRequiredService<KafkaStatistics>(),
        NullLogger<PartitionReaders>.Instance);

    private async Task ProduceAsync(int partitions, int events)
    {
        _kafka.CreateTopics(_topics, partitions);
        await OrleansTestCluster.ProduceAsync(_kafka.BootstrapServers, _topics, ClusterClient.Events(seed: 3, count: events, users: 50, items: 20));
    }

    // Takes records as they come, saying so each time (as an ingress does), until `count` have been taken.
    private static async Task<List<long>> TakeAllAsync(PartitionReader reader, long count)
    {
        var offsets = new List<long>();
        await Eventually.TrueAsync(() =>
        {
            offsets.AddRange(Drain(reader));
            reader.Took();
            return Task.FromResult(offsets.Count >= count);
        }, Deadline, $"{count} records taken");
        await Task.Delay(200); // a record held twice would arrive within this; its absence cannot be waited for
        offsets.AddRange(Drain(reader));
        return offsets;
    }

    private static List<long> Drain(PartitionReader reader)
    {
        var offsets = new List<long>();
        while (reader.Records.TryRead(out var record))
        {
            offsets.Add(record.Offset.Value);
        }

        return offsets;
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
