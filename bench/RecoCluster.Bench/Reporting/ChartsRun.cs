using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RecoCluster.Bench.Queries;
using RecoCluster.Bench.Rebuild;
using RecoCluster.Bench.Scale;

namespace RecoCluster.Bench.Reporting;

/// <summary>
/// <c>charts</c>: turns <c>bench/results/*.json</c> into gnuplot data files (in a temp dir) and runs the scripts
/// of <c>bench/charts/</c> on them, writing SVGs to <c>docs/charts/</c> (queries, ingest, scale, rebuild). gnuplot (Debian's gnuplot-nox, which
/// <c>./reco bench</c> installs) is required: without it this fails, so stale charts are never left looking fresh.
/// </summary>
public static class ChartsRun
{
    public const string QueriesChart = "queries-latency.svg";
    public const string IngestChart = "ingest-throughput.svg";
    public const string RebuildChart = "rebuild-time.svg";
    public const string ScaleChart = "scale-throughput.svg";

    /// <summary>Options: <c>--results</c> (bench/results), <c>--output</c> (docs/charts), <c>--scripts</c>
    /// (bench/charts).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var results = BenchArgs.String(args, "--results") ?? Path.Combine("bench", "results");
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("docs", "charts");
        var scripts = BenchArgs.String(args, "--scripts") ?? Path.Combine("bench", "charts");
        var version = await GnuplotAsync(["--version"]);
        if (version is null)
        {
            Console.Error.WriteLine("charts: gnuplot is not installed (Debian: apt-get install gnuplot-nox; `./reco bench` installs it)");
            return 1;
        }

        Console.WriteLine($"charts: {version.Trim()}");
        Directory.CreateDirectory(output);
        var work = Directory.CreateTempSubdirectory("reco-charts-");
        try
        {
            var drawn = 0;
            var queries = Path.Combine(results, QueryResults.FileName);
            if (File.Exists(queries))
            {
                var file = JsonSerializer.Deserialize<QueryResults>(await File.ReadAllTextAsync(queries), QueryResults.Json)!;
                var (data, kinds) = QueriesData(file);
                if (kinds.Count == 0)
                {
                    Console.Error.WriteLine($"charts: {queries} has no successful answers in any kind; nothing to draw");
                    return 1;
                }

                drawn += await DrawAsync(work, scripts, "queries-latency.gp", data, Path.Combine(output, QueriesChart), Subtitle(file.Date, file.Machine.ToString()), ("command", file.Command), ("kinds", string.Join(' ', kinds)));
            }
            else
            {
                Console.WriteLine($"charts: no {queries}; its chart is not drawn");
            }

            var ingest = Path.Combine(results, IngestResultsFile.FileName);
            if (File.Exists(ingest))
            {
                var file = IngestResultsFile.Load(ingest);
                drawn += await DrawAsync(work, scripts, "ingest-throughput.gp", IngestData(file), Path.Combine(output, IngestChart), Subtitle(file.Date, file.MachineText), ("command", file.Command));
            }
            else
            {
                Console.WriteLine($"charts: no {ingest}; its chart is not drawn");
            }

            var scale = Path.Combine(results, ScaleResults.FileName);
            if (File.Exists(scale))
            {
                var file = JsonSerializer.Deserialize<ScaleResults>(await File.ReadAllTextAsync(scale), ScaleResults.Json)!;
                var (data, blocks) = ScaleData(file);
                drawn += await DrawAsync(work, scripts, "scale-throughput.gp", data, Path.Combine(output, ScaleChart), Subtitle(file.Date, file.Machine.ToString()), ("command", file.Command), ("blocks", blocks.ToString(CultureInfo.InvariantCulture)));
            }
            else
            {
                Console.WriteLine($"charts: no {scale}; its chart is not drawn");
            }

            var rebuild = Path.Combine(results, RebuildResults.FileName);
            if (File.Exists(rebuild))
            {
                var file = JsonSerializer.Deserialize<RebuildResults>(await File.ReadAllTextAsync(rebuild), RebuildResults.Json)!;
                drawn += await DrawAsync(
                    work,
                    scripts,
                    "rebuild-time.gp",
                    RebuildData(file),
                    Path.Combine(output, RebuildChart),
                    Subtitle(file.Date, file.Machine.ToString()),
                    ("command", file.Command),
                    ("parallel", string.Create(CultureInfo.InvariantCulture, $"{file.Settings.Partitions} partitions in parallel on {file.Machine.Cores} cores")),
                    ("target_entries", RebuildResults.TargetEntries.ToString(CultureInfo.InvariantCulture)),
                    ("target_seconds", RebuildResults.TargetSeconds.ToString(CultureInfo.InvariantCulture)),
                    ("target_label", string.Create(CultureInfo.InvariantCulture, $"{RebuildResults.TargetSeconds:N0} s at {RebuildResults.TargetEntries:N0} entries")));
            }
            else
            {
                Console.WriteLine($"charts: no {rebuild}; its chart is not drawn");
            }

            if (drawn == 0)
            {
                Console.Error.WriteLine($"charts: no results in {results}; run the benchmarks first");
                return 1;
            }

            return 0;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    // One block per kind with any 2xx answer; a kind that only failed (not served yet) has no line to draw.
    private static (string Data, List<string> Kinds) QueriesData(QueryResults file)
    {
        var data = new StringBuilder();
        var kinds = new List<string>();
        foreach (var group in file.Summary.GroupBy(r => r.Kind))
        {
            var rows = group.Where(r => r.P50Ms is not null).OrderBy(r => r.OfferedQps).ToList();
            if (rows.Count == 0)
            {
                continue;
            }

            kinds.Add(group.Key);
            data.Append(CultureInfo.InvariantCulture, $"# {group.Key}: offered_qps p50_ms p99_ms p999_ms\n");
            foreach (var r in rows)
            {
                // A logarithmic axis has no zero: a sub-microsecond figure is drawn at 1 µs.
                data.Append(CultureInfo.InvariantCulture, $"{r.OfferedQps} {Math.Max(r.P50Ms!.Value, 0.001)} {Math.Max(r.P99Ms!.Value, 0.001)} {Math.Max(r.P999Ms!.Value, 0.001)}\n");
            }

            data.Append("\n\n");
        }

        return (data.ToString(), kinds);
    }

    // A storage without a second-half figure gets NaN, which gnuplot leaves out.
    private static string IngestData(IngestResultsFile file)
    {
        var data = new StringBuilder("# storage bare stored second_half\n");
        foreach (var row in file.Summary)
        {
            var half = row.SecondHalf is { } h ? h.ToString("0", CultureInfo.InvariantCulture) : "NaN";
            data.Append(CultureInfo.InvariantCulture, $"{IngestResultsFile.StorageName(row.Provider)} {row.Bare:0} {row.Stored:0} {half}\n");
        }

        return data.ToString();
    }

    // One block per storage and partition count, its header line its title in the chart's key.
    private static (string Data, int Blocks) ScaleData(ScaleResults file)
    {
        var data = new StringBuilder();
        var blocks = 0;
        foreach (var group in file.Summary.GroupBy(r => (r.Storage, r.Partitions)).OrderBy(g => g.Key.Storage, StringComparer.Ordinal).ThenBy(g => g.Key.Partitions))
        {
            blocks++;
            data.Append(CultureInfo.InvariantCulture, $"silos \"{group.Key.Storage}, {group.Key.Partitions} partitions\"\n");
            foreach (var r in group.OrderBy(r => r.Silos))
            {
                data.Append(CultureInfo.InvariantCulture, $"{r.Silos} {r.EventsPerSecond:0}\n");
            }

            data.Append("\n\n");
        }

        return (data.ToString(), blocks);
    }

    private static string RebuildData(RebuildResults file)
    {
        var data = new StringBuilder("# nonzero_entries single_thread_s parallel_s\n");
        foreach (var row in file.Rows.OrderBy(r => r.NonZeroEntries))
        {
            data.Append(CultureInfo.InvariantCulture, $"{row.NonZeroEntries} {row.Single.TotalSeconds:0.####} {row.Parallel.TotalSeconds:0.####}\n");
        }

        return data.ToString();
    }

    private static async Task<int> DrawAsync(DirectoryInfo work, string scripts, string script, string data, string svg, string subtitle, params (string Name, string Value)[] extra)
    {
        var datafile = Path.Combine(work.FullName, Path.ChangeExtension(script, ".dat"));
        await File.WriteAllTextAsync(datafile, data);
        var variables = new List<(string Name, string Value)> { ("datafile", datafile), ("outfile", Path.GetFullPath(svg)), ("subtitle", subtitle) };
        variables.AddRange(extra);
        var assignments = string.Join("; ", variables.Select(v => $"{v.Name} = '{v.Value.Replace("'", "''", StringComparison.Ordinal)}'"));
        // No shell in between (ArgumentList): the only quoting is gnuplot's own, '' inside '…'.
        if (await GnuplotAsync(["-e", assignments, Path.Combine(scripts, script)]) is null)
        {
            throw new InvalidOperationException($"gnuplot failed on {script}");
        }

        Console.WriteLine($"charts: {svg}");
        return 1;
    }

    private static string Subtitle(DateTimeOffset date, string machine) =>
        string.Create(CultureInfo.InvariantCulture, $"{date.UtcDateTime:yyyy-MM-dd HH:mm} UTC, {machine}");

    /// <summary>Runs gnuplot; its standard output, or null when it is not installed or fails (its errors are
    /// passed through to stderr).</summary>
    private static async Task<string?> GnuplotAsync(string[] args)
    {
        var start = new ProcessStartInfo("gnuplot")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception)
        {
            return null;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var errors = await stderr;
            if (errors.Length > 0)
            {
                await Console.Error.WriteAsync(errors);
            }

            return process.ExitCode == 0 ? await stdout : null;
        }
    }
}
