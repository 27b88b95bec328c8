using System.Globalization;
using System.Text;
using System.Text.Json;
using RecoCluster.Bench.Freshness;
using RecoCluster.Bench.Memory;
using RecoCluster.Bench.Queries;
using RecoCluster.Bench.Rebuild;
using RecoCluster.Bench.Scale;
using static RecoCluster.Bench.BenchText;

namespace RecoCluster.Bench.Reporting;

/// <summary>
/// <c>report</c>: regenerates the generated parts of docs/benchmarks.md from <c>bench/results/*.json</c>. The
/// document keeps its hand-written prose; each generated part sits between
/// <c>&lt;!-- generated:NAME:begin --&gt;</c> and <c>&lt;!-- generated:NAME:end --&gt;</c> and is replaced whole,
/// with the run's date, machine and command, so a table can never drift from the file it came from. A missing
/// marker is an error: silently appending would leave the old table in place beside the new one.
/// </summary>
public static class DocsReport
{
    /// <summary>Options: <c>--results</c> (bench/results), <c>--doc</c> (docs/benchmarks.md). Charts are linked
    /// when they exist in <c>charts/</c> next to the document.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var results = BenchArgs.String(args, "--results") ?? Path.Combine("bench", "results");
        var doc = BenchArgs.String(args, "--doc") ?? Path.Combine("docs", "benchmarks.md");
        var chartsDir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(doc))!, "charts");
        var text = await File.ReadAllTextAsync(doc);
        try
        {
            text = Replace(text, "ingest", IngestBlock(Path.Combine(results, IngestResultsFile.FileName), chartsDir));
            text = Replace(text, "queries", await QueriesBlockAsync(Path.Combine(results, QueryResults.FileName), chartsDir));
            text = Replace(text, "scale", await BlockAsync<ScaleResults>(
                Path.Combine(results, ScaleResults.FileName), "./reco bench scale", ScaleResults.Json, r => (r.Date, r.Machine, r.Command, r.Load), ScaleTables.Markdown)
                + Chart(chartsDir, ChartsRun.ScaleChart, "Events/s against the number of silos, per partition count: steady and whole run"));
            text = Replace(text, "memory", await BlockAsync<MemoryResults>(
                Path.Combine(results, MemoryResults.FileName), "./reco bench memory", MemoryResults.Json, r => (r.Date, r.Machine, r.Command, r.Load), MemoryTables.Markdown));
            text = Replace(text, "rebuild", await BlockAsync<RebuildResults>(
                Path.Combine(results, RebuildResults.FileName), "./reco bench rebuild", RebuildResults.Json, r => (r.Date, r.Machine, r.Command, r.Load), RebuildTables.Markdown)
                + Chart(chartsDir, ChartsRun.RebuildChart, "Neighborhood round compute time against non-zero entries, one thread and partitions in parallel"));
            text = Replace(text, "freshness", await BlockAsync<FreshnessResults>(
                Path.Combine(results, FreshnessResults.FileName), "./reco bench freshness", FreshnessResults.Json, r => (r.Date, r.Machine, r.Command, r.Load), FreshnessTables.Markdown));
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"report: {doc}: {ex.Message}");
            return 1;
        }

        await File.WriteAllTextAsync(doc, text);
        Console.WriteLine($"report: {doc} regenerated from {results}");
        return 0;
    }

    /// <summary>Replaces what lies between the markers of <paramref name="name"/> with <paramref name="block"/>.</summary>
    public static string Replace(string document, string name, string block)
    {
        ArgumentNullException.ThrowIfNull(document);
        var begin = $"<!-- generated:{name}:begin -->";
        var end = $"<!-- generated:{name}:end -->";
        var from = document.IndexOf(begin, StringComparison.Ordinal);
        var to = document.IndexOf(end, StringComparison.Ordinal);
        if (from < 0 || to < from || document.IndexOf(begin, from + begin.Length, StringComparison.Ordinal) >= 0)
        {
            throw new FormatException($"expected exactly one '{begin}' followed by '{end}'");
        }

        return $"{document[..(from + begin.Length)]}\n{block.TrimEnd('\n')}\n{document[to..]}";
    }

    private static string IngestBlock(string path, string chartsDir)
    {
        if (!File.Exists(path))
        {
            return NotRun(path, "./reco bench ingest");
        }

        var file = IngestResultsFile.Load(path);
        var text = new StringBuilder(Provenance(path, file.Date, file.MachineText, file.Command));
        if (file.FirstRuntime)
        {
            text.Append("These figures are the first runtime's (the file predates the bench's move onto Orleans): \"both sides stored\" is its \"item side too\", when every shuffle batch had been applied to the item grains, and its second half, of the user side alone, is not shown. `./reco bench ingest` now measures an Orleans silo.\n\n");
        }

        text.Append("| storage | bare consumer | silo, user side stored | ratio | both sides stored | ratio | both sides / user side | second half | ratio | stored per event | CPU per event, bare / silo | allocated per event |\n");
        text.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var row in file.Summary)
        {
            var half = row.SecondHalf is { } h ? I($"{h:N0} ev/s") : "not measured";
            var halfRatio = row.SecondHalfRatio is { } r ? I($"{r:P1}") : "";
            var user = row.UserSide is { } u ? I($"{u:N0} ev/s") : "not measured";
            var userRatio = row.UserSideRatio is { } ur ? I($"{ur:P1}") : "";
            var itemOfUser = row.ItemSideOfUserSide is { } iu ? I($"{iu:P0}") : "";
            var bytes = row.BytesPerEvent is { } b ? I($"{b:N0} B") : "not measured";
            var cpu = (row.BareCpuPerEvent, row.SiloCpuPerEvent) is ({ } bc, { } sc) ? I($"{bc:N1} / {sc:N1} µs") : "not measured";
            var allocated = row.AllocatedPerEvent is { } a ? I($"{a:N0} B") : "not measured";
            text.Append(CultureInfo.InvariantCulture, $"| {IngestResultsFile.StorageName(row.Provider)} | {row.Bare:N0} ev/s | {user} | {userRatio} | {row.Stored:N0} ev/s | {row.StoredRatio:P1} | {itemOfUser} | {half} | {halfRatio} | {bytes} | {cpu} | {allocated} |\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"\nMedians of {file.Summary.Max(r => r.Runs)} run(s); every run's figures are in `{path}`.\n");
        return text.Append(Chart(chartsDir, ChartsRun.IngestChart, "Events/s of the bare consumer and of one silo, per storage")).ToString();
    }

    private static async Task<string> QueriesBlockAsync(string path, string chartsDir)
    {
        if (!File.Exists(path))
        {
            return NotRun(path, "./reco bench queries");
        }

        var file = JsonSerializer.Deserialize<QueryResults>(await File.ReadAllTextAsync(path), QueryResults.Json)!;
        var s = file.Settings;
        var text = new StringBuilder(Provenance(path, file.Date, file.Machine.ToString(), file.Command));
        text.Append(LoadSentence(file.Load, file.Machine.Cores));

        text.Append(CultureInfo.InvariantCulture, $"{s.Runs} run(s); each kind {s.Seconds} s per rate after {s.WarmupSeconds} s of warm-up{(s.WarmPassSeconds > 0 ? $", and {s.WarmPassSeconds} s per kind at the lowest rate (at most 500 req/s) before the first row, unmeasured" : "")}; {s.Users:N0} users and {s.Items:N0} items preloaded with {s.PreloadEvents:N0} events; client timeout {s.TimeoutMs:N0} ms; bare answer {s.BareBodyBytes} bytes. Percentiles are of 2xx answers only, medians across runs.\n\n");
        text.Append(QueryTables.Markdown(file)).Append('\n');
        return text.Append(Chart(chartsDir, ChartsRun.QueriesChart, "p50, p99 and p99.9 latency against offered load, per request kind")).ToString();
    }

    /// <summary>The block of a part whose results file is one JSON document: provenance, the load the machine
    /// was under, then the part's own Markdown (the same the run printed).</summary>
    private static async Task<string> BlockAsync<T>(string path, string command, JsonSerializerOptions json, Func<T, (DateTimeOffset Date, MachineInfo Machine, string Command, LoadAverages Load)> meta, Func<T, string> markdown)
    {
        if (!File.Exists(path))
        {
            return NotRun(path, command);
        }

        var file = JsonSerializer.Deserialize<T>(await File.ReadAllTextAsync(path), json)!;
        var (date, machine, made, load) = meta(file);
        var text = new StringBuilder(Provenance(path, date, machine.ToString(), made));
        var loadSentence = LoadSentence(load, machine.Cores);
        if (loadSentence.Length > 0)
        {
            text.Append(loadSentence.TrimEnd()).Append("\n\n");
        }

        return text.Append(markdown(file)).Append('\n').ToString();
    }

    // Well above the core count at the start means the machine was busy: other work, or, within `./reco bench`,
    // the previous part, whose load the 1-minute average still carries for a while.
    private static string LoadSentence(LoadAverages? load, int cores) =>
        load is { AtStart: { } atStart, AtEnd: { } atEnd }
            ? string.Create(CultureInfo.InvariantCulture, $"Load average (1 min) {atStart:0.0} when the run started, {atEnd:0.0} when it ended (that one includes the bench){(atStart > cores ? ": **the machine was busy when it started (other work, or the suite's previous part, whose load the 1-minute average still carries); compare with care**" : "")}. ")
            : "";

    private static string Provenance(string path, DateTimeOffset date, string machine, string command) =>
        string.Create(CultureInfo.InvariantCulture, $"*Generated by `./reco bench report` from `{path}`.* Run on **{date.UtcDateTime:yyyy-MM-dd HH:mm} UTC**, machine: {machine}, command: `{command}`.\n\n");

    private static string NotRun(string path, string command) =>
        $"*Not run yet: `{command}` writes `{path}`, then `./reco bench report` fills this in.*\n";

    private static string Chart(string chartsDir, string chart, string alt) =>
        File.Exists(Path.Combine(chartsDir, chart)) ? $"\n![{alt}](charts/{chart})\n" : "";
}
