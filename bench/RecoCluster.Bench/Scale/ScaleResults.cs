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

    // A configuration whose events were all stored before the cluster settled has no steady rate: NaN, written as
    // "NaN" rather than failing the run.
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
}

/// <param name="Events">Events produced before each run (the ingest bench's workload).</param>
/// <param name="Runs">Runs per configuration; the summary gives medians.</param>
/// <param name="Silos">Silo counts measured.</param>
/// <param name="Partitions">Partition counts measured (each a fresh set of topics).</param>
/// <param name="Storage">The database every silo of a run shares.</param>
/// <param name="Clustering">Orleans' membership of the silos, each a process of its own (<c>Localhost</c>: the first
/// silo is the primary); null in files of the first runtime, whose silos shared the bench's process and a Kafka
/// consumer group.</param>
public sealed record ScaleSettings(int Events, int Runs, IReadOnlyList<int> Silos, IReadOnlyList<int> Partitions, string Storage, string? Clustering = null);

/// <summary>One configuration, medians across its runs.</summary>
/// <param name="Partitions">Partitions of the events topic.</param>
/// <param name="Silos">Silos started together.</param>
/// <param name="Runs">Runs the medians are of.</param>
/// <param name="BareEventsPerSecond">One bare consumer reading the same topic in the same run: the ceiling.</param>
/// <param name="SteadyEventsPerSecond">Events stored on both the user and the item side per second once the
/// cluster had settled (every silo an active member, every partition's ingress on its home silo), to the last
/// event.</param>
/// <param name="SteadyRatio">Steady rate over the bare consumer's, per run.</param>
/// <param name="WholeRunEventsPerSecond">All events over the time from the first partition claimed by an ingress to
/// the last event stored: joins and the moves they cause included.</param>
/// <param name="SettleSeconds">From the first partition claimed until the cluster settled.</param>
/// <param name="AppliedBeforeSettled">Share of the events stored before the cluster settled (outside the steady
/// window).</param>
public sealed record ScaleSummaryRow(
    int Partitions,
    int Silos,
    int Runs,
    double BareEventsPerSecond,
    double SteadyEventsPerSecond,
    double SteadyRatio,
    double WholeRunEventsPerSecond,
    double SettleSeconds,
    double AppliedBeforeSettled);

/// <summary>One run of one configuration, with the figures of <see cref="ScaleSummaryRow"/>, and the partitions each
/// silo read once the cluster had settled, in the order the silos were started.</summary>
public sealed record ScaleRunResult(
    int Run,
    int Partitions,
    int Silos,
    double BareEventsPerSecond,
    double SteadyEventsPerSecond,
    double WholeRunEventsPerSecond,
    double SettleSeconds,
    double AppliedBeforeSettled,
    IReadOnlyList<int> PartitionsPerSilo);
