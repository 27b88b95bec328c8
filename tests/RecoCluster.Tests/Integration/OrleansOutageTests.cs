using RecoCluster.Grains.Interfaces;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// The Orleans runtime through outages of its dependencies, each ten seconds in the middle of ingest: PostgreSQL
/// (grain state, checkpoints and membership, all behind a proxy the test cuts) and the Kafka broker (the mock's
/// broker down, then up); and a batch commit whose answer the connection loses. Afterwards every user and item
/// equals an independent recount.
/// </summary>
[Collection("cluster")]
public sealed class OrleansOutageTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CatchUp = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_ten_second_database_outage_during_ingest_loses_nothing()
    {
        var (proxy, storage) = await TestDatabases.NewPostgresBehindProxyAsync();
        await using var proxyLifetime = proxy;
        await using var cluster = await OrleansTestCluster.StartAsync(storage, silos: 2, partitions: 4);
        var events = ClusterClient.Events(seed: 99, count: 6_000, users: 300, items: 80);

        await cluster.ProduceAsync(events.Take(2_000));
        await cluster.WaitUntilCaughtUpAsync(CatchUp);
        proxy.SetDown();
        var outage = DateTime.UtcNow;
        try
        {
            await cluster.ProduceAsync(events.Skip(2_000).Take(3_000));

            // While the database is away the ingresses retry their batches and say why. Each partition is asked on
            // its own: one whose activation is failing (its claim needs the database) must not hide the others.
            await Eventually.TrueAsync(
                async () =>
                {
                    var reports = await Task.WhenAll(Enumerable.Range(0, cluster.Partitions).Select(async p =>
                    {
                        try
                        {
                            return (await cluster.Grains.GetGrain<IPartitionIngressGrain>(p).EnsureRunningAsync()).LastError;
                        }
                        catch (OrleansException)
                        {
                            return null;
                        }
                    }));
                    return reports.Any(e => e is not null);
                },
                Outage,
                "an ingress reporting its failing batch");

            var remaining = Outage - (DateTime.UtcNow - outage);
            if (remaining > TimeSpan.Zero)
            {
                await Task.Delay(remaining); // the outage's length, not a wait for a result
            }
        }
        finally
        {
            // Also when the test fails: silos shut down slowly without their membership table.
            proxy.SetUp();
        }

        await cluster.ProduceAsync(events.Skip(5_000));
        await cluster.WaitUntilCaughtUpAsync(CatchUp);
        await OrleansIngressTests.AssertEqualsRecountAsync(cluster, events, items: 80);
        Assert.All(await cluster.IngressesAsync(), s => Assert.Null(s.LastError));
    }

    [Fact]
    public async Task A_ten_second_kafka_broker_outage_during_ingest_loses_nothing()
    {
        await using var cluster = await OrleansTestCluster.StartAsync(TestDatabases.NewSqlite(), silos: 2, partitions: 4);
        var events = ClusterClient.Events(seed: 98, count: 6_000, users: 300, items: 80);
        await cluster.ProduceAsync(events.Take(2_000));
        await cluster.WaitUntilCaughtUpAsync(CatchUp);

        // The broker goes down while the rest is being produced: the producer holds the events and retries, the
        // ingresses' readers lose their fetches and reconnect when it is back.
        cluster.Kafka.SetBrokerDown(1);
        var producing = cluster.ProduceAsync(events.Skip(2_000));
        await Task.Delay(Outage); // the outage's length, not a wait for a result
        cluster.Kafka.SetBrokerUp(1);
        await producing;

        await cluster.WaitUntilCaughtUpAsync(CatchUp);
        await OrleansIngressTests.AssertEqualsRecountAsync(cluster, events, items: 80);
    }

    // A batch's users (the ingress's commit) and a shard's write (the item side's), each committed by PostgreSQL
    // with the answer lost: the writer sees a broken connection after its transaction is stored. The ingress, trying
    // again, finds its users stored past what it knows it stored: only a new activation, resuming from the stored
    // pending batch, goes on without counting the batch twice. The shard reads itself again and drops, by its
    // watermarks, what the retried calls bring that it has stored.
    [Theory]
    [InlineData("INSERT INTO reco_user (", true)]
    [InlineData("UPDATE reco_item_shard SET watermarks", false)]
    public async Task A_commit_whose_answer_is_lost_counts_once(string statement, bool newIngressActivation)
    {
        var (proxy, storage) = await TestDatabases.NewPostgresBehindProxyAsync();
        await using var proxyLifetime = proxy;
        await using var cluster = await OrleansTestCluster.StartAsync(storage, silos: 1, partitions: 2);
        var events = ClusterClient.Events(seed: 96, count: 3_000, users: 200, items: 60);
        await cluster.ProduceAsync(events.Take(1_000));
        await cluster.WaitUntilCaughtUpAsync(CatchUp);
        var epochs = (await cluster.IngressesAsync()).ToDictionary(s => s.Partition, s => s.Epoch);

        var lost = proxy.LoseAnswerToNextCommitAfter(statement);
        await cluster.ProduceAsync(events.Skip(1_000));
        await lost.WaitAsync(CatchUp);
        await cluster.WaitUntilCaughtUpAsync(CatchUp);

        await OrleansIngressTests.AssertEqualsRecountAsync(cluster, events, items: 60);
        var after = await cluster.IngressesAsync();
        Assert.Equal(newIngressActivation, after.Any(s => s.Epoch > epochs[s.Partition]));
        Assert.All(after, s => Assert.Null(s.LastError));
    }
}
