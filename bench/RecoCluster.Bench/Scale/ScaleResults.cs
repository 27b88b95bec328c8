using System.Text.Json;
using System.Text.Json.Serialization;
using RecoCluster.Bench.Queries;

namespace RecoCluster.Bench.Scale;

/// <summary><c>bench/results/scale.json</c>: how the run was made, one summary row per (storage, partitions, silos)
/// and every run. Read back by <c>report</c> and <c>charts</c>.</summary>
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

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
}

/// <param name="Events">Events of the timed workload, produced once for the ceiling and once for the silos.</param>
/// <param name="Warmup">Events of the same stream produced before them, once the cluster had settled, and stored
/// before they were.</param>
/// <param name="Runs">Runs per configuration; the summary gives medians.</param>
/// <param name="Silos">Silo counts measured.</param>
/// <param name="Partitions">Partition counts measured (each a fresh set of topics).</param>
/// <param name="Storage">The storage providers measured; every silo of a run shares one fresh database.</param>
/// <param name="Clustering">Orleans' membership of the silos, each a process of its own (<c>Localhost</c>: the first
/// silo is the primary).</param>
/// <param name="Users">Distinct users of the workload (0 in results written before the option: 20,000).</param>
/// <param name="Items">Distinct items of the workload (0 in results written before the option: 5,000).</param>
public sealed record ScaleSettings(int Events, int Warmup, int Runs, IReadOnlyList<int> Silos, IReadOnlyList<int> Partitions, IReadOnlyList<string> Storage, string Clustering, int Users = 0, int Items = 0);

/// <summary>One configuration, medians across its runs.</summary>
/// <param name="Storage">The storage provider (<c>Sqlite</c>, <c>Postgres</c>).</param>
/// <param name="Partitions">Partitions of the events topic.</param>
/// <param name="Silos">Silos started together.</param>
/// <param name="Runs">Runs the medians are of.</param>
/// <param name="BareEventsPerSecond">One bare consumer reading the same workload in the same run: the ceiling.</param>
/// <param name="EventsPerSecond">The workload's events over the time from the first produced to the last stored on
/// both the user and the item side, the cluster settled before the first.</param>
/// <param name="Ratio">The silos' rate over the bare consumer's, per run.</param>
/// <param name="CpuMicrosecondsPerEvent">CPU time over the same stretch, of the silo processes and the bench's (which
/// hosts the embedded Kafka and produces), per event.</param>
/// <param name="CoresBusy">That CPU time over the stretch's length times the machine's cores: below 1, the cores
/// waited for something part of the time.</param>
/// <param name="SettleSeconds">From the silo processes' start until the cluster settled (every silo an active member,
/// every partition's ingress on its home silo), on the still empty topic.</param>
/// <param name="PeakSiloResidentMegabytes">The largest peak resident memory of a silo process of the run (its VmHWM
/// when the last event was stored), in MiB: what a silo's pod must hold for this many partitions and this backlog.
/// Null in files before it was recorded (2026-12-07 13:00 UTC).</param>
public sealed record ScaleSummaryRow(
    string Storage,
    int Partitions,
    int Silos,
    int Runs,
    double BareEventsPerSecond,
    double EventsPerSecond,
    double Ratio,
    double CpuMicrosecondsPerEvent,
    double CoresBusy,
    double SettleSeconds,
    double? PeakSiloResidentMegabytes = null);

/// <summary>One run of one configuration, with the figures of <see cref="ScaleSummaryRow"/>, how long the producer
/// took to have every event acknowledged (the silos read meanwhile), and the partitions each silo read, in the order
/// the silos were started.</summary>
public sealed record ScaleRunResult(
    int Run,
    string Storage,
    int Partitions,
    int Silos,
    double BareEventsPerSecond,
    double EventsPerSecond,
    double ProduceSeconds,
    double SettleSeconds,
    double CpuMicrosecondsPerEvent,
    double CoresBusy,
    IReadOnlyList<int> PartitionsPerSilo,
    double? PeakSiloResidentMegabytes = null);
