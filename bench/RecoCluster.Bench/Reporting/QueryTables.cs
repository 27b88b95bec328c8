using System.Globalization;
using RecoCluster.Bench.Queries;

namespace RecoCluster.Bench.Reporting;

/// <summary>The query bench's results as Markdown: printed at the end of a run, and put into docs/benchmarks.md
/// by <c>report</c>, so both always show the same thing.</summary>
public static class QueryTables
{
    public static string Markdown(QueryResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = new List<string>
        {
            "| kind | offered (req/s) | p50 (ms) | p95 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | achieved (2xx/s) | errors | p99 ÷ bare p99 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        };
        foreach (var row in results.Summary)
        {
            lines.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"| {row.Kind} | {row.OfferedQps:N0} | {Ms(row.P50Ms)} | {Ms(row.P95Ms)} | {Ms(row.P99Ms)} | {Ms(row.P999Ms)} | {Ms(row.MaxMs)} | {row.AchievedQps:N0} | {Errors(row)} | {Ratio(row)} |"));
        }

        var ingest = results.Ingest;
        lines.Add("");
        lines.Add(string.Create(
            CultureInfo.InvariantCulture,
            $"Background ingest while measuring: {ingest.OfferedEventsPerSecond:N0} events/s offered, {ingest.AchievedEventsPerSecond:N0} acknowledged by Kafka, {ingest.SiloAppliedEventsPerSecond:N0} applied by the silo (medians of {results.Settings.Runs} run(s)); largest backlog at the end of a run {ingest.MaxSiloBacklogAtEnd:N0} events{(ingest.Failed > 0 ? $"; {ingest.Failed:N0} events failed to produce" : "")}."));
        // Everything runs in one process on the same cores: how busy it was, and how late the generator itself
        // sent, say how far the ceiling is a ceiling.
        var lag = results.Summary.Max(r => r.SendLagP99Ms);
        lines.Add(string.Create(
            CultureInfo.InvariantCulture,
            $"Bench process: {results.Summary.Min(r => r.CpuPercent):0}–{results.Summary.Max(r => r.CpuPercent):0} % of all cores busy per row; requests left up to {lag:0.##} ms after their due time (p99, worst row), which their latency includes; thread pool minimum {(results.Settings.MinThreads > 0 ? results.Settings.MinThreads.ToString(CultureInfo.InvariantCulture) : "the runtime's default")}{(results.Settings.Tls ? "; over TLS (HTTPS to the gateway and the bare endpoint, mutual TLS from the gateway to the silo)" : "")}."));
        return string.Join('\n', lines);
    }

    private static string Ms(double? value) =>
        value is null ? "–" : value.Value.ToString(value.Value < 10 ? "0.00" : "N1", CultureInfo.InvariantCulture);

    // Median error count across runs, with every cause seen in any run (the totals behind it), so a kind that is
    // not served yet reads as "404" at a glance.
    private static string Errors(QuerySummaryRow row) =>
        row.ErrorsByCause.Count == 0
            ? "0"
            : string.Create(CultureInfo.InvariantCulture, $"{row.MedianErrors:N0} ({string.Join(", ", row.ErrorsByCause.Select(e => $"{e.Key}: {e.Value:N0}"))})");

    private static string Ratio(QuerySummaryRow row) =>
        row.Kind == "bare" ? "1" : row.P99RatioToBare is { } r ? r.ToString("0.0", CultureInfo.InvariantCulture) + "×" : "–";
}
