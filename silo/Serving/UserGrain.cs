using Orleans.Concurrency;
using RecoCluster.Cluster;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Hosting;

namespace RecoCluster.Silo.Serving;

/// <summary>
/// <see cref="IUserGrain"/>: routes to the ingress of the user's events partition, which holds the user (events are
/// keyed by user id with Kafka's partitioner, so that is murmur2 of the id modulo the partition count). Stateless:
/// it runs on the caller's silo.
/// </summary>
[StatelessWorker, Reentrant]
public sealed class UserGrain(GrainKeeper keeper) : Grain, IUserGrain
{
    public async Task<UserHistory?> GetHistoryAsync() => await (await PartitionAsync()).GetUserHistoryAsync(this.GetPrimaryKeyString());

    public async Task<RecommendationInput?> GetRecommendationInputAsync() => await (await PartitionAsync()).GetUserInputAsync(this.GetPrimaryKeyString());

    private async Task<IPartitionIngressGrain> PartitionAsync()
    {
        var partitions = keeper.Partitions is > 0 and var known ? known : await keeper.PartitionsAsync();
        if (partitions == 0)
        {
            throw new OrleansException("the events topic's partition count is not known yet (the silo is starting, or Kafka does not answer)");
        }

        return GrainFactory.GetGrain<IPartitionIngressGrain>(KafkaPartitioner.PartitionFor(this.GetPrimaryKeyString(), partitions));
    }
}
