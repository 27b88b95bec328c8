using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Silo.Neighborhoods;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Runtime;

/// <summary>
/// Every silo's side of the neighborhood rounds: for each item partition it owns, it writes the partition's part
/// of the open round's current phase (computed in the partition's turn, so on one consistent cut); and when a
/// newer round is complete, it loads every part of it and swaps the silo's snapshot in one step.
/// </summary>
/// <remarks>
/// Polls the database rather than being called by the batch grain: the grain never needs to know who owns what,
/// a partition that moves mid-round is written by its new owner, and the same loop installs new versions.
/// </remarks>
public sealed class RoundParticipant(
    SiloRuntime runtime,
    GrainStore store,
    SnapshotLoader loader,
    IOptions<KafkaOptions> kafka,
    IOptions<NeighborhoodOptions> options,
    IOptions<Grains.UserGrainOptions> grainOptions,
    TimeProvider time,
    ILogger<RoundParticipant> logger) : BackgroundService
{
    /// <summary>How often a silo looks for work and for new versions: bounds a phase's wait for this silo and the
    /// delay before it serves a completed version.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    private readonly NeighborhoodOptions _options = options.Value;
    private readonly FactorOptions _factors = grainOptions.Value.Factors;
    private readonly string _itemTopic = kafka.Value.Topics.ItemDeltas;
    private (long Version, GlobalCounts Counts)? _global;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await StepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the database may be away; the next poll tries again
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogWarning(ex, "Neighborhood round step failed: {Reason}", ex.Message);
            }

            try
            {
                await Task.Delay(PollInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One poll: contribute to the open round, then install the newest complete version.</summary>
    public async Task StepAsync(CancellationToken ct)
    {
        var latest = await store.LatestRoundAsync(ct).ConfigureAwait(false);
        if (latest is { IsOpen: true })
        {
            await ContributeAsync(latest, ct).ConfigureAwait(false);
        }

        await loader.InstallNewestAsync(ct).ConfigureAwait(false);
    }

    private async Task ContributeAsync(RoundRow round, CancellationToken ct)
    {
        var phase = round.State == RoundStates.Counting ? RoundPhases.Counts : RoundPhases.Entries;
        var written = await store.RoundPartsWrittenAsync(round.Version, phase, ct).ConfigureAwait(false);
        foreach (var partition in runtime.OwnedItemPartitions)
        {
            if (partition >= round.Partitions || written.Contains(partition) || !runtime.TryGetItemWorker(partition, out var worker))
            {
                continue;
            }

            var started = time.GetTimestamp();
            byte[]? payload;
            if (phase == RoundPhases.Counts)
            {
                var result = await worker.QueryAsync(async () =>
                {
                    var items = await worker.ReadAllItemsAsync().ConfigureAwait(false);
                    return SnapshotCodec.EncodeCounts(items.Select(i => SnapshotBuilder.Counts(i.ItemId, i.State)).ToList());
                }).ConfigureAwait(false);
                payload = result.Owned ? result.Value : null;
            }
            else
            {
                var global = await GlobalCountsAsync(round.Version, ct).ConfigureAwait(false);
                var (previous, seconds) = await PreviousEntriesAsync(round, partition, ct).ConfigureAwait(false);
                var result = await worker.QueryAsync(async () =>
                {
                    var items = await worker.ReadAllItemsAsync().ConfigureAwait(false);
                    return SnapshotCodec.EncodeEntries(items
                        .Select(i => SnapshotBuilder.Entry(i.ItemId, i.State, global, previous.GetValueOrDefault(i.ItemId), seconds, _options, _factors))
                        .ToList());
                }).ConfigureAwait(false);
                payload = result.Owned ? result.Value : null;
            }

            if (payload is null)
            {
                continue; // the partition moved meanwhile; its new owner writes the part
            }

            var stored = await store.WriteRoundPartAsync(round.Version, phase, _itemTopic, partition, worker.Epoch, payload, ct).ConfigureAwait(false);
            logger.LogDebug(
                "Round {Version} {Phase} part of item partition {Partition}: {Bytes} bytes in {Ms:F0} ms{Note}",
                round.Version,
                phase,
                partition,
                payload.Length,
                time.GetElapsedTime(started).TotalMilliseconds,
                stored ? string.Empty : " (not stored: already written, or the partition moved)");
        }
    }

    private async Task<GlobalCounts> GlobalCountsAsync(long version, CancellationToken ct)
    {
        if (_global is { } cached && cached.Version == version)
        {
            return cached.Counts;
        }

        var parts = await store.LoadRoundPartsAsync(version, RoundPhases.Counts, null, ct).ConfigureAwait(false);
        var counts = GlobalCounts.Merge(parts.Select(p => SnapshotCodec.DecodeCounts(p.Payload)));
        _global = (version, counts);
        return counts;
    }

    // The trend of a round continues the previous complete round's, per item, decayed by the time between their
    // starts. Read from the database (not from this silo's snapshot), so whoever computes a partition's part uses
    // the same previous values.
    private async Task<(Dictionary<string, SnapshotItem> Previous, double Seconds)> PreviousEntriesAsync(RoundRow round, int partition, CancellationToken ct)
    {
        var previous = await store.LatestCompleteRoundAsync(round.Version, ct).ConfigureAwait(false);
        if (previous is null)
        {
            return ([], 0);
        }

        var parts = await store.LoadRoundPartsAsync(previous.Version, RoundPhases.Entries, partition, ct).ConfigureAwait(false);
        var entries = parts.SelectMany(p => SnapshotCodec.DecodeEntries(p.Payload)).ToDictionary(e => e.ItemId, StringComparer.Ordinal);
        return (entries, (round.StartedMs - previous.StartedMs) / 1000.0);
    }
}
