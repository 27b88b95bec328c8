using System.Diagnostics;
using System.Globalization;
using System.Net;
using RecoCluster.Bench.Reporting;
using static RecoCluster.Bench.BenchText;

namespace RecoCluster.Bench.Queries;

/// <summary>
/// Query latency under an open-loop load, with ingest running, against a bare Kestrel ceiling measured in the same
/// run. Each run starts a fresh in-process cluster (embedded Kafka, one Orleans silo on SQLite, the gateway),
/// preloads it through Kafka, starts the background ingest, then for each rate, for each kind: a warm-up, then the
/// measured interval. Kinds alternate within a rate so that each one and the bare endpoint see the same conditions.
/// </summary>
public static class QueryRun
{
    // The warm pass's highest rate, req/s: low enough that a cold process keeps up with its open loop.
    private const int WarmPassRate = 500;

    /// <summary>Runs the benchmark. Options (defaults): <c>--rates</c> 500,2000,5000; <c>--seconds</c> 10 per
    /// rate and kind; <c>--warmup</c> 1 (seconds before each cell); <c>--warm-pass</c> 15 (seconds per kind at the
    /// lowest rate, at most 500 req/s, before the first cell, unmeasured); <c>--runs</c> 3; <c>--ingest-rate</c> 20000 events/s; <c>--kinds</c>
    /// recommendations,similar,cart,bare (also: user); <c>--users</c> 20000; <c>--items</c> 2000;
    /// <c>--preload-events</c> 100000; <c>--timeout-ms</c> 5000; <c>--min-threads</c> 64 (thread pool; 0: the
    /// runtime's default); <c>--tls</c> off (on: the gateway on HTTPS and Orleans' links under mutual TLS, with a
    /// throwaway certificate, and the bare endpoint on HTTPS too); <c>--output</c> bench/results.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rates = BenchArgs.List(args, "--rates", ["500", "2000", "5000"]).Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToArray();
        var seconds = BenchArgs.Double(args, "--seconds", 10);
        var warmup = BenchArgs.Double(args, "--warmup", 1);
        var warmPass = BenchArgs.Double(args, "--warm-pass", 15);
        var runs = BenchArgs.Int(args, "--runs", 3);
        var ingestRate = BenchArgs.Int(args, "--ingest-rate", 20_000);
        var kinds = BenchArgs.List(args, "--kinds", RequestKind.Default);
        var users = BenchArgs.Int(args, "--users", 20_000);
        var items = BenchArgs.Int(args, "--items", 2_000);
        var preload = BenchArgs.Int(args, "--preload-events", 100_000);
        var timeoutMs = BenchArgs.Int(args, "--timeout-ms", 5_000);
        var minThreads = BenchArgs.Int(args, "--min-threads", 64);
        var tlsSetting = BenchArgs.String(args, "--tls") ?? "off";
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        var unknown = kinds.Except(RequestKind.Known).ToList();
        if (unknown.Count > 0 || kinds.Count == 0 || rates.Any(r => r < 1) || runs < 1 || seconds <= 0 || preload < users || tlsSetting is not ("on" or "off"))
        {
            Console.Error.WriteLine(unknown.Count > 0
                ? $"queries: unknown kind(s) {string.Join(", ", unknown)}; known: {string.Join(", ", RequestKind.Known)}"
                : "queries: need at least one kind, rates ≥ 1, runs ≥ 1, seconds > 0, --preload-events ≥ --users (every queried user must exist), and --tls on or off");
            return 2;
        }

        var tls = tlsSetting == "on";

        // Report order, whatever order they were given in.
        kinds = [.. RequestKind.Known.Where(kinds.Contains)];
        var command = BenchArgs.Command("queries", [
            "--rates", string.Join(',', rates), "--seconds", Invariant(seconds), "--warmup", Invariant(warmup), "--warm-pass", Invariant(warmPass), "--runs", Invariant(runs),
            "--ingest-rate", Invariant(ingestRate), "--kinds", string.Join(',', kinds), "--users", Invariant(users), "--items", Invariant(items),
            "--preload-events", Invariant(preload), "--timeout-ms", Invariant(timeoutMs), "--min-threads", Invariant(minThreads), .. (tls ? ["--tls", "on"] : Array.Empty<string>())]);
        var machine = MachineInfo.Current();
        var loadAtStart = MachineInfo.LoadAverage();
        Console.WriteLine($"queries: {command}");
        Console.WriteLine($"queries: kinds {string.Join(", ", kinds)} at {string.Join(", ", rates)} req/s, {seconds} s each after {warmup} s of warm-up, {runs} run(s), ingest {ingestRate:N0} events/s{(tls ? "; TLS: HTTPS to the gateway and the bare endpoint, mutual TLS between the gateway and the silo" : "")}; {machine}, load average {loadAtStart}");

        // Everything under test shares this process's thread pool: Orleans runs the silo's grain turns on it, and an
        // ingress's turn on a large batch holds its thread for a second or more. With the pool's default minimum
        // (one thread per core) a busy silo then starves Kestrel and the client here, which in production run in
        // other processes (on the first runtime the bare endpoint measured a p50 of 1 s at 500 req/s this way). A
        // higher minimum lets the pool grow at once instead of by a thread or two per second. 0 keeps the runtime's
        // default.
        // Set back afterwards: the smoke test runs this inside the test host, among other tests.
        ThreadPool.GetMinThreads(out var workersBefore, out var ioBefore);
        if (minThreads > 0)
        {
            ThreadPool.SetMinThreads(minThreads, Math.Max(ioBefore, minThreads));
        }

        var workload = new Workload(users, items);
        var results = new List<QueryRunResult>();
        var bareBytes = 0;
        try
        {
            for (var run = 1; run <= runs; run++)
            {
                var (result, bodyBytes) = await OneRunAsync(run, workload, kinds, rates, seconds, warmup, warmPass, ingestRate, preload, timeoutMs, tls);
                results.Add(result);
                bareBytes = bodyBytes;
            }
        }
        finally
        {
            ThreadPool.SetMinThreads(workersBefore, ioBefore);
        }

        var summary = Summarize(kinds, rates, results);
        var ingest = new IngestSummary(
            ingestRate,
            BenchArgs.Median(results.Select(r => r.Ingest.AchievedEventsPerSecond)),
            BenchArgs.Median(results.Select(r => r.Ingest.SiloAppliedEventsPerSecond)),
            results.Max(r => r.Ingest.SiloBacklogAtEnd),
            results.Sum(r => r.Ingest.Failed));
        var file = new QueryResults(
            "queries",
            DateTimeOffset.UtcNow,
            command,
            machine,
            new LoadAverages(loadAtStart, MachineInfo.LoadAverage()),
            new QuerySettings(rates, seconds, warmup, warmPass, runs, ingestRate, kinds, users, items, preload, timeoutMs, minThreads, bareBytes, tls),
            summary,
            ingest,
            results);

        return await BenchOutput.WriteAsync("queries", output, QueryResults.FileName, file, QueryResults.Json, QueryTables.Markdown(file));
    }

    private static async Task<(QueryRunResult Result, int BareBodyBytes)> OneRunAsync(
        int run, Workload workload, IReadOnlyList<string> kinds, int[] rates, double seconds, double warmup, double warmPass, int ingestRate, int preload, int timeoutMs, bool tls)
    {
        var setup = Stopwatch.StartNew();
        await using var cluster = await QueryCluster.StartAsync(tls: tls);
        await using var bare = await BareKestrel.StartAsync(cluster.Tls);
        await cluster.PreloadAsync(workload, preload, seed: run, deadline: TimeSpan.FromMinutes(5));
        Console.WriteLine($"  run {run}: cluster up and {preload:N0} events stored in {setup.Elapsed.TotalSeconds:N1} s; bare answer {bare.BodyBytes} bytes");

        // One client for every kind, as a storefront's backend would have: pooled keep-alive connections, as
        // many as the load needs (an open loop opens more when answers are slow, which is part of what it shows).
        using var handler = cluster.Handler(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1024,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        });
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMilliseconds(timeoutMs) };
        var generator = new OpenLoopGenerator(http);
        var requestKinds = kinds.Select(k => RequestKind.Create(k, workload, cluster.GatewayAddress, bare.Address)).ToList();

        using var ingest = new SteadyIngest(cluster.BootstrapServers, cluster.Topics.Events, workload, ingestRate, firstSequence: preload);
        var storedBefore = await cluster.StoredEventsAsync();
        var ingestClock = Stopwatch.StartNew();
        ingest.Start();
        // Every code path once through at the lowest rate (at most WarmPassRate), with ingest running, before
        // anything is measured. Fresh from start-up the process runs tiered compilation's first, unoptimised code,
        // and a cell measured then at a high rate falls behind its open loop and never catches up: that is a cold
        // silo's first seconds, not the service a warm one gives. A warm pass at a high rate falls behind the same
        // way (recommendations at 2,000 req/s alone: 6,703 timeouts in the pass's wake), hence the cap. Its length:
        // with ingest keeping both cores busy, tiered compilation's background recompiles get little CPU, and
        // after 5 s per kind the first run still fell behind at 2,000 req/s (p50 0.6–1 s); after 15 s it did not.
        foreach (var kind in requestKinds.Where(_ => warmPass > 0))
        {
            _ = await generator.RunAsync(kind, Math.Min(rates.Min(), WarmPassRate), TimeSpan.FromSeconds(warmPass));
        }

        var cells = new List<CellMeasurement>();
        foreach (var rate in rates)
        {
            foreach (var kind in requestKinds)
            {
                if (warmup > 0)
                {
                    _ = await generator.RunAsync(kind, rate, TimeSpan.FromSeconds(warmup));
                }

                var cell = await generator.RunAsync(kind, rate, TimeSpan.FromSeconds(seconds));
                cells.Add(cell);
                var l = cell.Latency;
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"  run {run} {rate,6} req/s {kind.Name,-15}: p50 {Ms(l.P50Ms)} p99 {Ms(l.P99Ms)} p99.9 {Ms(l.P999Ms)} max {Ms(l.MaxMs)} ms; {cell.AchievedQps,8:N1} ok/s; errors {cell.ErrorCount}{Causes(cell.Errors)}; send lag p99 {cell.SendLagP99Ms:0.###} ms; CPU {cell.CpuPercent:0}%, pool queue ≤ {cell.MaxThreadPoolQueue}"));
            }
        }

        var measured = ingest.Stop();
        var elapsed = ingestClock.Elapsed.TotalSeconds;
        var stored = await cluster.StoredEventsAsync();
        measured = measured with
        {
            SiloAppliedEventsPerSecond = (stored - storedBefore) / elapsed,
            SiloBacklogAtEnd = Math.Max(0, preload + measured.Delivered - stored),
        };
        Console.WriteLine($"  run {run} ingest: offered {ingestRate:N0} ev/s, Kafka acknowledged {measured.AchievedEventsPerSecond:N0} ev/s ({measured.Failed:N0} failed), silo stored {measured.SiloAppliedEventsPerSecond:N0} ev/s on both sides, backlog at the end {measured.SiloBacklogAtEnd:N0}");
        // The embedded broker keeps about 5 MB per partition (~250,000 events in all): a larger backlog means it
        // may have dropped events the silo had not read, and the silo's figures understate what it was asked to do.
        if (measured.SiloBacklogAtEnd > 200_000)
        {
            Console.WriteLine("  warning: the silo fell far behind the background ingest; the embedded broker may have dropped events it had not read yet");
        }

        return (new QueryRunResult(run, cells, measured), bare.BodyBytes);
    }

    private static List<QuerySummaryRow> Summarize(IReadOnlyList<string> kinds, int[] rates, List<QueryRunResult> runs)
    {
        var rows = new List<QuerySummaryRow>();
        foreach (var rate in rates)
        {
            foreach (var kind in kinds)
            {
                var cells = runs.Select(r => (Run: r, Cell: r.Cells.First(c => c.Kind == kind && c.OfferedQps == rate))).ToList();
                double? ratio = null;
                if (kinds.Contains("bare"))
                {
                    var ratios = cells
                        .Select(x => (Mine: x.Cell.Latency.P99Ms, Bare: x.Run.Cells.First(c => c.Kind == "bare" && c.OfferedQps == rate).Latency.P99Ms))
                        .Where(p => p.Mine is not null && p.Bare is > 0)
                        .Select(p => p.Mine!.Value / p.Bare!.Value)
                        .ToList();
                    ratio = ratios.Count > 0 ? Math.Round(BenchArgs.Median(ratios), 2) : null;
                }

                var causes = new SortedDictionary<string, int>(StringComparer.Ordinal);
                foreach (var (cause, count) in cells.SelectMany(x => x.Cell.Errors))
                {
                    causes[cause] = causes.GetValueOrDefault(cause) + count;
                }

                rows.Add(new QuerySummaryRow(
                    kind,
                    rate,
                    cells.Count,
                    Median(cells.Select(x => x.Cell.Latency.P50Ms)),
                    Median(cells.Select(x => x.Cell.Latency.P95Ms)),
                    Median(cells.Select(x => x.Cell.Latency.P99Ms)),
                    Median(cells.Select(x => x.Cell.Latency.P999Ms)),
                    Median(cells.Select(x => x.Cell.Latency.MaxMs)),
                    Math.Round(BenchArgs.Median(cells.Select(x => x.Cell.AchievedQps)), 1),
                    BenchArgs.Median(cells.Select(x => (double)x.Cell.ErrorCount)),
                    causes,
                    ratio,
                    BenchArgs.Median(cells.Select(x => x.Cell.SendLagP99Ms)),
                    BenchArgs.Median(cells.Select(x => x.Cell.CpuPercent))));
            }
        }

        return rows;
    }

    // Median of the runs that measured something: a run with no 2xx answer has no percentile to contribute.
    private static double? Median(IEnumerable<double?> values)
    {
        var present = values.Where(v => v is not null).Select(v => v!.Value).ToList();
        return present.Count > 0 ? Math.Round(BenchArgs.Median(present), 3) : null;
    }

    private static string Ms(double? value) => value is null ? "-" : value.Value.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Causes(IReadOnlyDictionary<string, int> errors) =>
        errors.Count == 0 ? "" : $" ({string.Join(", ", errors.Select(e => $"{e.Key}: {e.Value}"))})";
}
