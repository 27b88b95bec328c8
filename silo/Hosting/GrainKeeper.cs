using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Ingress;
using RecoCluster.Silo.Items;

namespace RecoCluster.Silo.Hosting;

/// <summary>
/// Keeps the always-on grains running: one ingress per events partition, the item shards and the neighborhood round
/// grain. Every
/// silo runs one: each tick it calls each of them, and Orleans activates any that is not running (first start, or
/// its silo died) where its placement says. Any live silo is enough, so there is no leader to elect.
/// </summary>
public sealed partial class GrainKeeper(
    IGrainFactory grains,
    IOptions<KafkaOptions> kafka,
    IOptions<IngressOptions> options,
    IOptions<ItemShardOptions> shards,
    ILogger<GrainKeeper> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>The events topic's partition count, once read from Kafka (0 until then).</summary>
    public int Partitions { get; private set; }

    /// <summary>The events topic's partition count, read from Kafka now if the keeper has not read it yet; 0 when
    /// Kafka does not know the topic (yet).</summary>
    public async Task<int> PartitionsAsync()
    {
        if (Partitions == 0)
        {
            // librdkafka's metadata request blocks its thread, which must not be a grain's.
            var partitions = await Task.Run(() => KafkaTopicMetadata.PartitionCount(kafka.Value, kafka.Value.Topics.Events, TimeSpan.FromSeconds(5)));
            if (Partitions == 0)
            {
                Partitions = partitions;
            }
        }

        return Partitions;
    }

    /// <summary>The ingress of a user's events partition, which holds the user: events are keyed by user id with
    /// Kafka's partitioner, so that is murmur2 of the id modulo the partition count.</summary>
    public async ValueTask<IPartitionIngressGrain> UserPartitionAsync(string userId)
    {
        var partitions = Partitions is > 0 and var known ? known : await PartitionsAsync();
        if (partitions == 0)
        {
            throw new OrleansException("the events topic's partition count is not known yet (the silo is starting, or Kafka does not answer)");
        }

        return grains.GetGrain<IPartitionIngressGrain>(KafkaPartitioner.PartitionFor(userId, partitions));
    }

    /// <summary>What every partition's ingress reported at the last round that reached them all (empty before).</summary>
    public IReadOnlyList<IngressStatus> LastStatuses { get; private set; } = [];

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe<GrainKeeper>(ServiceLifecycleStage.Active, Start, StopAsync);

    private Task Start(CancellationToken ct)
    {
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken ct)
    {
        await _stopping.CancelAsync();
        await _loop.WaitAsync(ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.KeeperIntervalMs));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (await PartitionsAsync() == 0)
                {
                    LogKeepFailed($"Kafka did not report the events topic {kafka.Value.Topics.Events} (yet)");
                }

                var round = grains.GetGrain<INeighborhoodRoundGrain>(0).EnsureRunningAsync();
                var itemShards = Task.WhenAll(Enumerable.Range(0, shards.Value.Shards).Select(s => grains.GetGrain<IItemShardGrain>(s).EnsureRunningAsync()));
                LastStatuses = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => grains.GetGrain<IPartitionIngressGrain>(p).EnsureRunningAsync()));
                await itemShards;
                await round;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                // A silo that just died, a database that is down: the next tick tries again.
                LogKeepFailed(e.Message);
            }

            try
            {
                await timer.WaitForNextTickAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not make sure every ingress, item shard and the round grain run: {Reason}")]
    private partial void LogKeepFailed(string reason);
}
