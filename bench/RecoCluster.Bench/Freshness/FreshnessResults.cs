using System.Text.Json;
using RecoCluster.Bench.Queries;

namespace RecoCluster.Bench.Freshness;

/// <summary><c>bench/results/freshness.json</c>: how the run was made, the distribution, the rebuilds timed on
/// the same cluster, and every sample. Read back by <c>report</c>.</summary>
public sealed record FreshnessResults(
    string Benchmark,
    DateTimeOffset Date,
    string Command,
    MachineInfo Machine,
    LoadAverages Load,
    FreshnessSettings Settings,
    FreshnessSummary Summary,
    IReadOnlyList<RebuildMeasurement> Rebuilds,
    IngestMeasurement Ingest,
    IReadOnlyList<FreshnessSample> Samples,
    FreshnessSummary? Idle = null,
    IReadOnlyList<FreshnessSample>? IdleSamples = null)
{
    public const string FileName = "freshness.json";

    /// <summary>The target for the p99 under ingest, in milliseconds.</summary>
    public const double TargetP99Ms = 500;

    /// <summary>The target for the p99 of an idle cluster, in milliseconds: a click shows "within tens of
    /// milliseconds".</summary>
    public const double IdleTargetP99Ms = 50;

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}

/// <param name="Samples">Events whose effect was timed, one per sample user.</param>
/// <param name="Via"><c>kafka</c> (a producer with acks=all; the clock starts at its acknowledgment) or
/// <c>http</c> (<c>POST /v1/events</c>; the clock starts at the 202, which the gateway sends once Kafka has the
/// event).</param>
/// <param name="Users">The preloaded population (the last <see cref="Samples"/> users are kept for sampling and
/// get no background events).</param>
/// <param name="Items">Items of the preloaded population.</param>
/// <param name="PreloadEvents">Events preloaded through Kafka before the first rebuild.</param>
/// <param name="IngestRate">Background events/s produced to Kafka while sampling.</param>
/// <param name="PollIntervalMs">Time between the starts of two polls of one sample.</param>
/// <param name="TimeoutMs">A sample not visible by then counts as a timeout.</param>
/// <param name="Count">The <c>count</c> asked of the recommendations endpoint.</param>
/// <param name="MinThreads">The process's thread pool minimum (0: the runtime's default).</param>
/// <param name="FetchWaitMs">The first runtime's silo consumers' <c>fetch.wait.max.ms</c>, which the bench set (0:
/// librdkafka's default, 500); null since the bench moved onto Orleans, whose ingresses set their own. The embedded
/// broker holds a fetch that finds no data for all of it, where a real broker answers as soon as data arrives.</param>
/// <param name="IdleSamples">Samples taken after the background ingest stopped and its backlog was stored (0 in
/// files written before the idle part existed).</param>
/// <param name="IdleGapMs">Time between the starts of two idle samples.</param>
public sealed record FreshnessSettings(
    int Samples,
    string Via,
    int Users,
    int Items,
    int PreloadEvents,
    int IngestRate,
    int PollIntervalMs,
    int TimeoutMs,
    int Count,
    int MinThreads,
    int? FetchWaitMs = null,
    int IdleSamples = 0,
    int IdleGapMs = 0);

/// <param name="FromAck">Acknowledgment (Kafka's, or the 202) to the first answer showing the effect.</param>
/// <param name="FromSend">The same from the moment the event was handed to the producer (or the request sent).</param>
/// <param name="Produce">Send to acknowledgment.</param>
/// <param name="Poll">One poll's round trip: with the poll interval, the resolution of the figures above.</param>
/// <param name="Timeouts">Samples whose effect was not seen within the timeout (not in the percentiles).</param>
/// <param name="Skipped">Sample users whose list was empty before the event (nothing to watch).</param>
/// <param name="SeenAsLeft">Samples where the viewed item left the list.</param>
/// <param name="SeenAsBecause">Samples where an entry "because you viewed" the item appeared.</param>
/// <param name="CpuPercent">CPU of this process while sampling, as a share of all cores.</param>
/// <remarks>One for the samples under ingest, and one for the idle samples.</remarks>
public sealed record FreshnessSummary(
    LatencySummary FromAck,
    LatencySummary FromSend,
    LatencySummary Produce,
    LatencySummary Poll,
    int Timeouts,
    int Skipped,
    int SeenAsLeft,
    int SeenAsBecause,
    double CpuPercent);

/// <summary>One <c>POST /v1/admin/neighborhoods/rebuild</c> on the bench's cluster.</summary>
/// <param name="When">What the cluster was doing meanwhile.</param>
/// <param name="WallSeconds">From the request to its answer (the new version is then served).</param>
/// <param name="RoundSeconds">The round's own start to completion, as the answer reports them.</param>
/// <param name="Version">The version it built.</param>
/// <param name="Partitions">The parts the version was stored in (in the first runtime's files, the item partitions
/// that took part).</param>
public sealed record RebuildMeasurement(string When, double WallSeconds, double RoundSeconds, long Version, int Partitions);

/// <param name="UserId">The sample user.</param>
/// <param name="ItemId">The item viewed: the first of the user's list before the event.</param>
/// <param name="Outcome"><c>left</c>, <c>because</c>, <c>left+because</c>, <c>timeout</c> or <c>skipped</c>.</param>
/// <param name="FromAckMs">Acknowledgment to visible, or null.</param>
/// <param name="FromSendMs">Send to visible, or null.</param>
/// <param name="ProduceMs">Send to acknowledgment.</param>
/// <param name="Polls">Polls made, the one that saw the effect included.</param>
public sealed record FreshnessSample(string UserId, string ItemId, string Outcome, double? FromAckMs, double? FromSendMs, double ProduceMs, int Polls);
