using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Neighborhoods;

/// <summary>Loads the newest published snapshot version into this silo's <see cref="SnapshotHolder"/>: every part
/// first, then one swap, so a query sees one whole version.</summary>
public sealed partial class SnapshotLoader(
    GrainStore store,
    SnapshotHolder snapshots,
    IOptions<NeighborhoodOptions> options,
    IOptions<UserGrainOptions> grainOptions,
    TimeProvider time,
    ILogger<SnapshotLoader> logger)
{
    /// <summary>Installs the newest complete version if this silo does not serve it yet; true when it did.</summary>
    public async Task<bool> InstallNewestAsync(CancellationToken ct)
    {
        var complete = await store.LatestCompleteRoundAsync(long.MaxValue, ct).ConfigureAwait(false);
        if (complete is null || complete.Version <= snapshots.Current.Version)
        {
            return false;
        }

        var started = time.GetTimestamp();
        var parts = await store.LoadRoundPartsAsync(complete.Version, RoundPhases.Entries, null, ct).ConfigureAwait(false);
        if (parts.Count < complete.Partitions)
        {
            // Cannot happen for a complete round (it completes only with every part), unless its parts were
            // deleted under us because two newer rounds completed meanwhile: the next poll loads the newest.
            LogPartsMissing(complete.Version, parts.Count, complete.Partitions);
            return false;
        }

        var snapshot = RecoSnapshot.Build(
            complete.Version,
            DateTimeOffset.FromUnixTimeMilliseconds(complete.CompletedMs ?? complete.StartedMs),
            parts.SelectMany(p => SnapshotCodec.DecodeEntries(p.Payload)),
            options.Value.PopularCount,
            grainOptions.Value.Factors.Dimensions);
        if (!snapshots.TryInstall(snapshot))
        {
            return false;
        }

        LogInstalled(snapshot.Version, snapshot.ItemCount, time.GetElapsedTime(started).TotalMilliseconds);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Round {Version} is complete but has {Parts} of {Partitions} parts; skipping it")]
    private partial void LogPartsMissing(long version, int parts, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving neighborhood snapshot {Version}: {Items} items, loaded in {Ms:F0} ms")]
    private partial void LogInstalled(long version, int items, double ms);
}
