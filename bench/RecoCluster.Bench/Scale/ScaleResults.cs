using System.Text.Json;
using System.Text.Json.Serialization;
using RecoCluster.Bench.Queries;

namespace RecoCluster.Bench.Scale;

/// <summary><c>bench/results/scale.json</c>: how the run was made, one summary row per (partitions, silos) and
/// every run. Read back by <c>report</c> and <c>charts</c>.</summary>
public sealed record ScaleResults(
    string Benchmark,
    DateTimeOffset Date,
    string Command,
    MachineInfo Machine,
    LoadAverages Load,
    ScaleSettings Settings,
    IReadOnlyList<ScaleSummaryRow> Summary,
    IReadOnlyList<ScaleRunResult> Runs)
{
    public const string FileName = "scale.json";

    // A configuration whose events were all applied before the group settled has no steady rate: NaN, written as
    // "NaN" rather than failing the run.
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
}

/// <param name="Events">Events produced before each run (the ingest bench's workload).</param>
/// <param name="Runs">Runs per configuration; the summary gives medians.</param>
/// <param name="Silos">Silo counts measured.</param>
/// <param name="Partitions">Partition counts measured (each a fresh set of topics).</param>
/// <param name="Storage">The checkpoint store every silo of a run shares.</param>
public sealed record ScaleSettings(int Events, int Runs, IReadOnlyList<int> Silos, IReadOnlyList<int> Partitions, string Storage);

/// <summary>One configuration, medians across its runs.</summary>
/// <param name="Partitions">Partitions of the events topic (and of the shuffle's).</param>
/// <param name="Silos">Silos started together.</param>
/// <param name="Runs">Runs the medians are of.</param>
/// <param name="BareEventsPerSecond">One bare consumer reading the same topic in the same run: the ceiling.</param>
/// <param name="SteadyEventsPerSecond">User side applied per second once every silo had its share of the
/// partitions (the group settled), to the last event.</param>
/// <param name="SteadyRatio">Steady rate over the bare consumer's, per run.</param>
/// <param name="WholeRunEventsPerSecond">All events over the time from the first event applied to the last event
/// applied: joins and rebalances included.</param>
/// <param name="ItemSideEventsPerSecond">All events over the time from the first event applied until every shuffle
/// batch was applied to the item grains too.</param>
/// <param name="SettleSeconds">From the first event applied until the group settled (0 when it settled before).</param>
/// <param name="AppliedBeforeSettled">Share of the events applied before the group settled (outside the steady
/// window).</param>
public sealed record ScaleSummaryRow(
    int Partitions,
    int Silos,
    int Runs,
    double BareEventsPerSecond,
    double SteadyEventsPerSecond,
    double SteadyRatio,
    double WholeRunEventsPerSecond,
    double ItemSideEventsPerSecond,
    double SettleSeconds,
    double AppliedBeforeSettled);

public sealed record ScaleRunResult(
    int Run,
    int Partitions,
    int Silos,
    double BareEventsPerSecond,
    double SteadyEventsPerSecond,
    double WholeRunEventsPerSecond,
    double ItemSideEventsPerSecond,
    double SettleSeconds,
    double AppliedBeforeSettled,
    IReadOnlyList<int> PartitionsPerSilo);
