using Orleans.Concurrency;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// The cluster's neighborhood rounds: one activation (key 0), kept running by every silo's keeper and driven by
/// its own timer. A round reads every stored item, computes the item similarity neighborhoods, bought-together
/// lists, trends and factor vectors of a new snapshot version, stores it in parts and then publishes it in one
/// statement, so a version is visible whole or not at all. Every silo loads a published version and swaps it in.
/// </summary>
public interface INeighborhoodRoundGrain : IGrainWithIntegerKey
{
    /// <summary>Runs a round now and returns it once published. Rounds run one at a time: a request made while one
    /// runs waits for it and then runs its own, so the answer always counts every event stored before the request.</summary>
    /// <remarks>A round over a large catalog takes minutes, so the call may take that long (clients' usual response
    /// timeout is seconds).</remarks>
    [ResponseTimeout("00:05:00")]
    Task<RebuildResult> RebuildAsync();

    /// <summary>Makes sure the grain is active (its timer runs only while it is); returns the last published
    /// version, or 0. Interleaves, so the keeper is answered even during a long round.</summary>
    [AlwaysInterleave]
    Task<long> EnsureRunningAsync();
}
