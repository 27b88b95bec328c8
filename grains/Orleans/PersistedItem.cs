using RecoCluster.Grains.Model;

namespace RecoCluster.Grains.Orleans;

/// <summary>What an <see cref="ItemGrain"/> stores: the model's state and, per events partition, the end of the
/// last batch applied from there (its watermark).</summary>
[GenerateSerializer, Alias("reco.PersistedItem")]
public sealed class PersistedItem
{
    /// <summary>The model's state; the grain builds it for each write (null in between).</summary>
    [Id(0)]
    public ItemGrainState? Model { get; set; }

    /// <summary>Events partition → end offset (exclusive) of the last batch from it that this item stored.</summary>
    [Id(1)]
    public Dictionary<int, long> Watermarks { get; set; } = [];
}
