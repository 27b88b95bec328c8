using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Model;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Neighborhoods;

/// <summary>
/// The work of one neighborhood round, over the stored items: pass 1 reads every item's counts into
/// the round's global counts; pass 2 reads the items again, page by page, and stores each page's snapshot entries
/// as one part of the version. Plain code over <see cref="SnapshotBuilder"/> (the same functions the quality harness
/// runs), so the round grain stays a thin scheduler.
/// </summary>
/// <remarks>
/// Reads storage, not the item shards: a stored item holds every batch its ingresses have checkpointed, so
/// once ingest is quiet the round sees exactly the counts a recount of the topic gives, and it costs the item
/// shards nothing (no turn taken from the ingest). Items stored between the passes
/// enter with counts from pass 2 only; the next round sees them whole.
/// </remarks>
public sealed partial class NeighborhoodRoundRunner(
    GrainStore store,
    IOptions<NeighborhoodOptions> options,
    IOptions<UserGrainOptions> grainOptions,
    ILogger<NeighborhoodRoundRunner> logger)
{
    /// <summary>Items per stored part (and per page read): bounds the memory of pass 2 and the size of one row.</summary>
    public const int ItemsPerPart = 1_000;

    /// <summary>Computes version <paramref name="version"/>, started at <paramref name="startedMs"/>, and stores its
    /// parts; returns how many. Publishing it is the caller's step.</summary>
    public async Task<int> ComputeAsync(long version, long startedMs, CancellationToken ct)
    {
        var counts = new List<ItemCounts>();
        await foreach (var page in PagesAsync(ct).ConfigureAwait(false))
        {
            counts.AddRange(page.Select(i => SnapshotBuilder.Counts(i.ItemId, i.State)));
        }

        var global = GlobalCounts.Merge([counts]);
        var (previous, seconds) = await PreviousEntriesAsync(version, startedMs, ct).ConfigureAwait(false);
        var parts = 0;
        await foreach (var page in PagesAsync(ct).ConfigureAwait(false))
        {
            var entries = page
                .Select(i => SnapshotBuilder.Entry(i.ItemId, i.State, global, previous.GetValueOrDefault(i.ItemId), seconds, options.Value, grainOptions.Value.Factors))
                .ToList();
            await store.WriteSnapshotPartAsync(version, parts++, SnapshotCodec.EncodeEntries(entries), ct).ConfigureAwait(false);
        }

        LogComputed(version, counts.Count, parts);
        return parts;
    }

    private async IAsyncEnumerable<List<(string ItemId, ItemGrainState State)>> PagesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? after = null;
        while (true)
        {
            var rows = await store.ReadItemsPageAsync(after, ItemsPerPart, ct).ConfigureAwait(false);
            if (rows.Count == 0)
            {
                yield break;
            }

            after = rows[^1].ItemId;
            yield return rows;
            if (rows.Count < ItemsPerPart)
            {
                yield break;
            }
        }
    }

    // The trend of a version continues the previous published version's, per item, decayed by the time between
    // their starts. Read from the stored parts, so any activation computes the same values.
    private async Task<(Dictionary<string, SnapshotItem> Previous, double Seconds)> PreviousEntriesAsync(long version, long startedMs, CancellationToken ct)
    {
        var previous = await store.LatestCompleteRoundAsync(version, ct).ConfigureAwait(false);
        if (previous is null)
        {
            return ([], 0);
        }

        var parts = await store.LoadRoundPartsAsync(previous.Version, RoundPhases.Entries, null, ct).ConfigureAwait(false);
        var entries = parts.SelectMany(p => SnapshotCodec.DecodeEntries(p.Payload)).ToDictionary(e => e.ItemId, StringComparer.Ordinal);
        return (entries, (startedMs - previous.StartedMs) / 1000.0);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Neighborhood version {Version}: {Items} items in {Parts} parts")]
    private partial void LogComputed(long version, int items, int parts);
}
