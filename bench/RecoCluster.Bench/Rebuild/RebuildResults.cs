using System.Text.Json;
using System.Text.Json.Serialization;
using RecoCluster.Bench.Queries;

namespace RecoCluster.Bench.Rebuild;

/// <summary><c>bench/results/rebuild.json</c>: how the run was made and one row per size. Read back by
/// <c>report</c> and <c>charts</c>.</summary>
public sealed record RebuildResults(
    string Benchmark,
    DateTimeOffset Date,
    string Command,
    MachineInfo Machine,
    LoadAverages Load,
    RebuildSettings Settings,
    IReadOnlyList<RebuildRow> Rows)
{
    public const string FileName = "rebuild.json";

    /// <summary>The target: a round over this many non-zero entries within <see cref="TargetSeconds"/>.</summary>
    public const long TargetEntries = 10_000_000;

    public const double TargetSeconds = 10;

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}

/// <param name="Items">The catalog the rows are drawn over.</param>
/// <param name="Clusters">Planted item clusters.</param>
/// <param name="HomeShare">Share of pairs whose second item is drawn from the first one's cluster.</param>
/// <param name="PurchaseShare">Share of the entries that are in purchase rows.</param>
/// <param name="Partitions">Parts the items are split into (by murmur2 of the id) for the parallel run.</param>
/// <param name="Measure">The similarity measure (the default options).</param>
/// <param name="NeighborCount">K.</param>
/// <param name="FactorDimensions">Each entry carries a vector of this length, as with the factor model on.</param>
/// <param name="Runs">Timed runs per size and mode; each step's figure is the median.</param>
public sealed record RebuildSettings(
    int Items,
    int Clusters,
    double HomeShare,
    double PurchaseShare,
    int Partitions,
    string Measure,
    int NeighborCount,
    int FactorDimensions,
    int Runs);

/// <param name="TargetEntries">The size asked for (<c>--nnz</c>).</param>
/// <param name="Entries">Non-zero co-occurrence entries built.</param>
/// <param name="PurchaseEntries">Non-zero purchase entries built.</param>
/// <param name="ItemsWithState">Items with any entry (the others have no stored state).</param>
/// <param name="LongestRow">The longest co-occurrence row.</param>
/// <param name="BuildStatesSeconds">Generating the states (not part of a round).</param>
/// <param name="Single">Every step on one thread, partition after partition.</param>
/// <param name="Parallel">The per-partition steps as partitions in parallel on the thread pool.</param>
/// <param name="EncodedBytes">The entries parts' total size: what a round writes and every silo reads.</param>
/// <param name="MeanNeighbors">Mean length of an item's similar list in the snapshot.</param>
public sealed record RebuildRow(
    long TargetEntries,
    long Entries,
    long PurchaseEntries,
    int ItemsWithState,
    long LongestRow,
    double BuildStatesSeconds,
    RebuildTimes Single,
    RebuildTimes Parallel,
    long EncodedBytes,
    double MeanNeighbors)
{
    public long NonZeroEntries => Entries + PurchaseEntries;
}

/// <summary>Seconds per step of a round (medians over the runs).</summary>
/// <param name="CountsSeconds">Phase 1: <c>SnapshotBuilder.Counts</c> of every item, each partition's list encoded.</param>
/// <param name="MergeSeconds">The counts parts decoded and merged (<c>GlobalCounts.Merge</c>), once.</param>
/// <param name="EntriesSeconds">Phase 2: <c>SnapshotBuilder.Entry</c> of every item.</param>
/// <param name="EncodeSeconds">Each partition's entries encoded (<c>SnapshotCodec.EncodeEntries</c>).</param>
/// <param name="DecodeSeconds">Every part decoded, as each silo does to install a version.</param>
/// <param name="BuildSeconds"><c>RecoSnapshot.Build</c> from the decoded entries.</param>
public sealed record RebuildTimes(
    double CountsSeconds,
    double MergeSeconds,
    double EntriesSeconds,
    double EncodeSeconds,
    double DecodeSeconds,
    double BuildSeconds)
{
    [JsonPropertyOrder(-1)]
    public double TotalSeconds => CountsSeconds + MergeSeconds + EntriesSeconds + EncodeSeconds + DecodeSeconds + BuildSeconds;
}
