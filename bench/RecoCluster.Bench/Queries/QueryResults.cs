using System.Text.Json;

namespace RecoCluster.Bench.Queries;

/// <summary><c>bench/results/queries.json</c>: how the run was made, the medians across runs, and every run's
/// own figures. Read back by <c>report</c> and <c>charts</c>.</summary>
public sealed record QueryResults(
    string Benchmark,
    DateTimeOffset Date,
    string Command,
    MachineInfo Machine,
    LoadAverages Load,
    QuerySettings Settings,
    IReadOnlyList<QuerySummaryRow> Summary,
    IngestSummary Ingest,
    IReadOnlyList<QueryRunResult> Runs)
{
    public const string FileName = "queries.json";

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}

/// <summary>The machine's 1-minute load average when the run started and when it ended (the second includes the
/// bench itself). Well above the core count at the start means someone else was using the machine.</summary>
public sealed record LoadAverages(double? AtStart, double? AtEnd);

public sealed record QuerySettings(
    IReadOnlyList<int> Rates,
    double Seconds,
    double WarmupSeconds,
    double WarmPassSeconds,
    int Runs,
    int IngestRate,
    IReadOnlyList<string> Kinds,
    int Users,
    int Items,
    int PreloadEvents,
    int TimeoutMs,
    int MinThreads,
    int BareBodyBytes,
    bool Tls = false);

/// <summary>One kind at one offered rate: the median across runs of each figure (so the p50 and the p99 of a row
/// may come from different runs). <see cref="P99RatioToBare"/> is the median of each run's own ratio to the bare
/// Kestrel p99 at the same rate; null without a bare measurement or without 2xx answers. <see cref="SendLagP99Ms"/>
/// and <see cref="CpuPercent"/> describe the bench process, not the endpoint (see <see cref="CellMeasurement"/>).</summary>
public sealed record QuerySummaryRow(
    string Kind,
    int OfferedQps,
    int Runs,
    double? P50Ms,
    double? P95Ms,
    double? P99Ms,
    double? P999Ms,
    double? MaxMs,
    double AchievedQps,
    double MedianErrors,
    IReadOnlyDictionary<string, int> ErrorsByCause,
    double? P99RatioToBare,
    double SendLagP99Ms,
    double CpuPercent);

/// <summary>The background ingest, medians across runs; the backlog is the largest any run ended with.</summary>
public sealed record IngestSummary(int OfferedEventsPerSecond, double AchievedEventsPerSecond, double SiloAppliedEventsPerSecond, long MaxSiloBacklogAtEnd, long Failed);

public sealed record QueryRunResult(int Run, IReadOnlyList<CellMeasurement> Cells, IngestMeasurement Ingest);
