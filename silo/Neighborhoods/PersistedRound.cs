namespace RecoCluster.Silo.Neighborhoods;

/// <summary>What the <see cref="NeighborhoodRoundGrain"/> stores: the last version it claimed and when that round
/// started. Claiming a version is a write of this state, so its ETag decides between two activations (a second
/// one during a membership change): the later claim wins, and the earlier activation cannot claim again.</summary>
[GenerateSerializer, Alias("reco.PersistedRound")]
public sealed class PersistedRound
{
    /// <summary>The highest version an activation has claimed (published or not).</summary>
    [Id(0)]
    public long LastClaimed { get; set; }

    /// <summary>When the round of <see cref="LastClaimed"/> started (Unix ms): the timer's next round is due an
    /// interval after it.</summary>
    [Id(1)]
    public long LastStartedMs { get; set; }
}
