using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Grains.Orleans;

/// <summary>What a <see cref="UserGrain"/> stores: the model's state and the end of the last batch it stored, so a
/// replayed batch is not applied twice.</summary>
[GenerateSerializer, Alias("reco.PersistedUser")]
public sealed class PersistedUser
{
    /// <summary>The model's state; null for a user erased by <see cref="LastBatchEnd"/>'s batch.</summary>
    [Id(0)]
    public UserGrainState? Model { get; set; }

    /// <summary>The end offset of the last batch applied and stored; -1 before the first.</summary>
    [Id(1)]
    public long LastBatchEnd { get; set; } = -1;

    /// <summary>The item side of <see cref="LastBatchEnd"/>'s batch, in a state stored before the ingress stored
    /// item sides itself (2026-12): the only copy of it if that batch was in flight when the cluster was upgraded.
    /// Never written now; cleared at the grain's next write.</summary>
    [Id(2)]
    public ItemSide? LegacyItemSide { get; set; }
}
