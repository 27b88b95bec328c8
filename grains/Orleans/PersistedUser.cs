using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Grains.Orleans;

/// <summary>What a <see cref="UserGrain"/> stores: the model's state and the last batch it applied, with that
/// batch's item side, so a replayed batch returns what the first attempt returned.</summary>
public sealed class PersistedUser
{
    /// <summary>The model's state; null for a user erased by <see cref="LastBatchEnd"/>'s batch.</summary>
    public UserGrainState? Model { get; set; }

    /// <summary>The end offset of the last batch applied and stored; -1 before the first.</summary>
    public long LastBatchEnd { get; set; } = -1;

    /// <summary>The item side that batch produced, kept until the next batch replaces it.</summary>
    public List<ItemDelta> LastItemSide { get; set; } = [];
}
