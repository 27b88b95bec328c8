namespace RecoCluster.Grains.Interfaces;

/// <summary>The combined deltas of one batch of one events partition for the items of one item shard: what
/// <see cref="IItemShardGrain.ApplyAsync"/> takes.</summary>
/// <remarks>
/// Between silos it travels in the compact form the ingress stores its item side in (every id once, row entries as
/// positions in that table; <c>RecoCluster.Grains.Model.ItemDeltaBatchConverter</c>). The deltas' own serializer
/// wrote each row entry's id as a string and tracked every reference, and a profile of four silo processes put
/// about a quarter of what they spent beyond one silo's work in that and in the copies the kernel made of it
/// (docs/benchmarks.md, "Ingest against silos"). Within a silo the batch is handed over as it is (it is immutable),
/// so a shard on the ingress's own silo pays nothing for the form.
/// </remarks>
[Immutable]
public sealed class ItemDeltaBatch
{
    /// <param name="deltas">One delta per item of the shard that the batch touched.</param>
    public ItemDeltaBatch(ItemDelta[] deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        Deltas = deltas;
    }

    /// <summary>One delta per item, each item once.</summary>
    public ItemDelta[] Deltas { get; }
}
