using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo;
using RecoCluster.Silo.Ingress;
using RecoCluster.Silo.Runtime;
using RecoCluster.Silo.Storage;
using RecoCluster.Tests.Infrastructure;
using RecoCluster.Grains.Model;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// A partition worker fed records by hand, its checkpoint timer fired by a manual clock: no Kafka, no sleeps.
/// Storage is a real SQLite file, so what "checkpointed" means is what the database holds.
/// </summary>
public sealed class PartitionWorkerTests : IAsyncLifetime
{
    private const string Topic = "deltas";
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));
    private readonly SiloStats _stats = new();
    private GrainStore _store = null!;
    private IProducer<byte[]?, byte[]?> _producer = null!;
    private long _offset;

    public async Task InitializeAsync()
    {
        var storage = TestDatabases.NewSqlite();
        _store = GrainStore.Open(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString });
        await _store.MigrateAsync(CancellationToken.None);
        // Only used to dead-letter undecodable records, which these tests do not send.
        _producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = "127.0.0.1:1" }).Build();
    }

    public async Task DisposeAsync()
    {
        _producer.Dispose();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task Batches_apply_once_per_watermark_and_nothing_is_stored_until_the_timer_fires()
    {
        var worker = await StartAsync("a");
        worker.Post(Batch(source: 3, end: 100, ("x", 1, "y")));
        worker.Post(Batch(source: 3, end: 100, ("x", 1, "y"))); // the same batch re-sent
        worker.Post(Batch(source: 3, end: 90, ("x", 1, "y")));  // an older batch of the same source
        worker.Post(Batch(source: 5, end: 10, ("x", 2, "z")));

        var row = await QueryAsync(worker, "x");
        Assert.Equal(3, row.Count);
        Assert.Equal([new Neighbor("z", 2), new Neighbor("y", 1)], row.Neighbors);
        Assert.Equal(2, _stats.DuplicateBatchesDropped);
        Assert.Null(await _store.LoadGrainAsync(ItemPartitionWorker.GrainKind, "x", CancellationToken.None));

        _clock.Advance(TimeSpan.FromMilliseconds(500));
        await QueryAsync(worker, "x"); // queued behind the tick, so the checkpoint is done when it answers

        Assert.Equal(3, ItemCodec.Decode((await _store.LoadGrainAsync(ItemPartitionWorker.GrainKind, "x", CancellationToken.None))!).Count);
        Assert.Equal(new Dictionary<int, long> { [3] = 100, [5] = 10 }, await _store.LoadWatermarksAsync(Topic, 0, CancellationToken.None));
        Assert.Equal(4, (await _store.ClaimAsync(Topic, 0, "peek", CancellationToken.None)).NextOffset);
    }

    [Fact]
    public async Task A_new_owner_drops_re_sent_batches_and_the_old_owner_is_fenced()
    {
        var old = await StartAsync("a");
        old.Post(Batch(source: 1, end: 50, ("x", 1, "y")));
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        await QueryAsync(old, "x");

        // Another silo claims the partition (the old one has not noticed yet) and gets the same batch again,
        // as it would after the source re-sent its outbox.
        var current = await StartAsync("b");
        current.Post(Batch(source: 1, end: 50, ("x", 1, "y")));
        current.Post(Batch(source: 1, end: 60, ("x", 1, "w")));
        Assert.Equal(2, (await QueryAsync(current, "x")).Count);

        // The old owner keeps applying, but its next checkpoint is refused and it lets go.
        old.Post(Batch(source: 2, end: 5, ("x", 7, "q")));
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.False((await old.QueryAsync(() => old.GetCooccurrenceAsync("x", 10))).Owned);
        Assert.Equal(1, _stats.FencingViolations);
        Assert.True(old.IsFenced);

        await current.StopAsync();
        var stored = ItemCodec.Decode((await _store.LoadGrainAsync(ItemPartitionWorker.GrainKind, "x", CancellationToken.None))!);
        Assert.Equal(2, stored.Count);
        Assert.False(stored.Row.ContainsKey("q"));
        Assert.Equal(new Dictionary<int, long> { [1] = 60 }, await _store.LoadWatermarksAsync(Topic, 0, CancellationToken.None));
        await old.StopAsync();
    }

    [Fact]
    public async Task Idle_clean_grains_are_deactivated_and_reload_unchanged()
    {
        var worker = await StartAsync("a", idleSeconds: 10);
        worker.Post(Batch(source: 1, end: 5, ("x", 4, "y")));
        await QueryAsync(worker, "x");
        Assert.Equal(1, worker.ActiveGrains);

        // Checkpointed (clean) and then idle past the limit: deactivated on a later tick.
        _clock.Advance(TimeSpan.FromSeconds(1));
        _clock.Advance(TimeSpan.FromSeconds(11));
        await worker.QueryAsync(() => Task.FromResult(0));
        Assert.Equal(0, worker.ActiveGrains);
        Assert.Equal(1, _stats.Deactivations);

        Assert.Equal(4, (await QueryAsync(worker, "x")).Count);
        Assert.Equal(1, worker.ActiveGrains);
        await worker.StopAsync();
    }

    private async Task<ItemPartitionWorker> StartAsync(string owner, int idleSeconds = 300)
    {
        var claim = await _store.ClaimAsync(Topic, 0, owner, CancellationToken.None);
        var context = new WorkerContext(
            _store,
            _producer,
            new DeadLetters(_producer, "dlq"),
            new SiloOptions { CheckpointIntervalMs = 500, IdleGrainSeconds = idleSeconds },
            PartitionCount: 1,
            _clock,
            _stats,
            NullLoggerFactory.Instance,
            new SnapshotHolder(),
            FactorInitScale: 0.1f);
        var worker = new ItemPartitionWorker(new TopicPartition(Topic, 0), claim, context);
        worker.Start();
        return worker;
    }

    private static async Task<ItemCooccurrence> QueryAsync(ItemPartitionWorker worker, string item)
    {
        var result = await worker.QueryAsync(() => worker.GetCooccurrenceAsync(item, 10));
        Assert.True(result.Owned);
        return result.Value!;
    }

    private ConsumeResult<byte[]?, byte[]?> Batch(int source, long end, params (string Item, long Count, string Other)[] deltas) => new()
    {
        Topic = Topic,
        Partition = 0,
        Offset = _offset++,
        Message = new Message<byte[]?, byte[]?>
        {
            Value = ItemCodec.Encode(new ItemDeltaBatch(source, end, deltas.Select(d => new ItemDelta(d.Item, d.Count, new Dictionary<string, long> { [d.Other] = d.Count })).ToList())),
        },
    };
}
