using Orleans.Concurrency;
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
    public async Task<UserHistory?> GetHistoryAsync() =>
        (await (await keeper.UserPartitionAsync(this.GetPrimaryKeyString())).GetUserHistoryAsync(this.GetPrimaryKeyString(), ReadPosition.None)).History;
}
