using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Items;

namespace RecoCluster.Silo.Serving;

/// <summary><see cref="IItemGrain"/>: routes to the item's shard (<see cref="ItemShards"/>), which holds the item.
/// Stateless: it runs on the caller's silo.</summary>
[StatelessWorker, Reentrant]
public sealed class ItemGrain(IOptions<ItemShardOptions> options) : Grain, IItemGrain
{
    public Task<ItemCooccurrence> GetCooccurrenceAsync(int count)
    {
        var itemId = this.GetPrimaryKeyString();
        return GrainFactory.GetGrain<IItemShardGrain>(ItemShards.Of(itemId, options.Value.Shards)).GetCooccurrenceAsync(itemId, count);
    }
}
