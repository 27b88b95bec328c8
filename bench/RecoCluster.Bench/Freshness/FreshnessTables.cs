using System.Globalization;
using RecoCluster.Bench.Queries;
using static RecoCluster.Bench.BenchText;

namespace RecoCluster.Bench.Freshness;

/// <summary>The freshness bench's results as Markdown: printed at the end of a run and put into
/// docs/benchmarks.md by <c>report</c>.</summary>
public static class FreshnessTables
{
    public static string Markdown(FreshnessResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var s = results.Settings;
        var m = results.Summary;
        var ack = s.Via == "kafka" ? "Kafka acknowledgment (acks=all)" : "`POST /v1/events` answered 202";
        var lines = new List<string>
        {
            "| from → to | samples | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | target |",
            "|---|---:|---:|---:|---:|---:|---|",
            Row($"{ack} → an answer showing the event", m.FromAck, I($"p99 ≤ {FreshnessResults.TargetP99Ms:N0} ms: {(m.FromAck.P99Ms is { } p99 && m.Timeouts == 0 ? (p99 <= FreshnessResults.TargetP99Ms ? "met" : "not met") : "not measured")}")),
            Row(s.Via == "kafka" ? "event handed to the producer → an answer showing it" : "request sent → an answer showing the event", m.FromSend, ""),
            Row(s.Via == "kafka" ? "event handed to the producer → Kafka acknowledgment" : "request sent → 202", m.Produce, ""),
            Row("one poll of the list (its round trip)", m.Poll, ""),
        };
        if (results.Idle is { } idle)
        {
            lines.Add(Row(I($"idle: {ack} → an answer showing the event"), idle.FromAck, I($"p99 ≤ {FreshnessResults.IdleTargetP99Ms:N0} ms: {(idle.FromAck.P99Ms is { } idleP99 && idle.Timeouts == 0 ? (idleP99 <= FreshnessResults.IdleTargetP99Ms ? "met" : "not met") : "not measured")}")));
        }

        lines.AddRange(
        [
            "",
            I($"{results.Samples.Count} samples, one per sample user, {s.PollIntervalMs} ms between the starts of two polls: a figure is the time until the client held an answer showing the event, so it is late by up to one poll interval plus one poll's round trip. Seen as the item leaving the list: {m.SeenAsLeft}; as a \"because you viewed\" entry: {m.SeenAsBecause}; not seen within {s.TimeoutMs:N0} ms: {m.Timeouts}{(m.Skipped > 0 ? I($"; skipped (empty list): {m.Skipped}") : "")}. ") +
                I($"Cluster: {Silo(s.FetchWaitMs)}; {s.Users:N0} users and {s.Items:N0} items preloaded with {s.PreloadEvents:N0} events; background ingest {results.Ingest.OfferedEventsPerSecond:N0} events/s offered, {results.Ingest.AchievedEventsPerSecond:N0} acknowledged, {results.Ingest.SiloAppliedEventsPerSecond:N0} applied by the silo, backlog at the end {results.Ingest.SiloBacklogAtEnd:N0}; bench process {m.CpuPercent:0} % of all cores while sampling."),
            "",
        ]);
        if (results.Idle is { } i)
        {
            lines.Add(I($"Idle: after the samples under ingest, the ingest stopped and its backlog was stored; then {results.IdleSamples!.Count} more sample users, one event at a time, {s.IdleGapMs:N0} ms apart, with nothing else sent. Seen as the item leaving the list: {i.SeenAsLeft}; as a \"because you viewed\" entry: {i.SeenAsBecause}; not seen within {s.TimeoutMs:N0} ms: {i.Timeouts}{(i.Skipped > 0 ? I($"; skipped (empty list): {i.Skipped}") : "")}."));
            lines.Add("");
        }

        lines.AddRange(
        [
            "| neighborhood round (`POST /v1/admin/neighborhoods/rebuild`) | request → answer | round start → complete | version |",
            "|---|---:|---:|---:|",
        ]);
        foreach (var r in results.Rebuilds)
        {
            lines.Add(I($"| {r.When} | {r.WallSeconds:N2} s | {r.RoundSeconds:N2} s | {r.Version} |"));
        }

        return string.Join('\n', lines);
    }

    // Files of the first runtime name the fetch wait its silo consumers were given; an Orleans ingress sets its own.
    private static string Silo(int? fetchWaitMs) => fetchWaitMs switch
    {
        null => "one Orleans silo on SQLite, 8 partitions",
        > 0 => I($"one silo of the first runtime on SQLite, 8 partitions, consumers' fetch.wait.max.ms {fetchWaitMs} ms (the embedded broker holds a fetch that finds no data for all of it, where a real broker answers as soon as data arrives)"),
        _ => "one silo of the first runtime on SQLite, 8 partitions, consumers' fetch.wait.max.ms librdkafka's default, 500 ms, which the embedded broker waits out whenever a fetch finds no data",
    };

    private static string Row(string what, LatencySummary l, string target) =>
        I($"| {what} | {l.Count} | {Ms(l.P50Ms)} | {Ms(l.P95Ms)} | {Ms(l.P99Ms)} | {Ms(l.MaxMs)} | {target} |");

    private static string Ms(double? value) =>
        value is null ? "–" : value.Value.ToString(value.Value < 10 ? "0.00" : "N1", CultureInfo.InvariantCulture);
}
