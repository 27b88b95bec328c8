using System.Text.Json;
using RecoCluster.Bench.Freshness;
using RecoCluster.Bench.Ingest;
using RecoCluster.Bench.Memory;
using RecoCluster.Bench.Quality;
using RecoCluster.Bench.Queries;
using RecoCluster.Bench.Rebuild;
using RecoCluster.Bench.Reporting;
using RecoCluster.Bench.Scale;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>The benchmark harnesses at tiny sizes, so they cannot rot between benchmark runs. Figures from here
/// mean nothing; only that the harness runs end to end and reports what it measured.</summary>
[Collection("cluster")]
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task The_ingest_benchmark_runs_end_to_end_and_writes_its_results()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            Assert.Equal(0, await IngestRun.RunAsync(["--events", "2000", "--runs", "1", "--output", output]));

            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "ingest.json")));
            var summary = results.RootElement.GetProperty("summary").EnumerateArray().ToList();
            // SQLite always; PostgreSQL too, since ./reco test provides one.
            Assert.Equal(["Sqlite", "Postgres"], summary.Select(s => s.GetProperty("provider").GetString()));
            Assert.All(summary, s => Assert.True(s.GetProperty("medianStoredEventsPerSecond").GetDouble() > 0));
            Assert.All(summary, s => Assert.True(s.GetProperty("medianBareEventsPerSecond").GetDouble() > 0));
            // The user side is stored no later than both sides, and the silo's byte counter reached the bench.
            Assert.All(summary, s => Assert.True(s.GetProperty("medianUserSideEventsPerSecond").GetDouble() >= s.GetProperty("medianStoredEventsPerSecond").GetDouble() * 0.999));
            Assert.All(summary, s => Assert.True(s.GetProperty("medianStoredBytesPerEvent").GetDouble() > 0));
            // The process's CPU time over each timed stretch: the silo's per event above the bare consumer's, which
            // does nothing with a record (and reads 2,000 of them in a few milliseconds, so it may round to nothing).
            Assert.All(summary, s => Assert.True(s.GetProperty("medianBareCpuMicrosecondsPerEvent").GetDouble() >= 0));
            Assert.All(summary, s => Assert.True(s.GetProperty("medianSiloCpuMicrosecondsPerEvent").GetDouble() > s.GetProperty("medianBareCpuMicrosecondsPerEvent").GetDouble()));
            // A silo parses each record into an event with its ids as strings: at least that much per event.
            Assert.All(summary, s => Assert.True(s.GetProperty("medianAllocatedBytesPerEvent").GetDouble() > 64));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_scale_benchmark_measures_every_silo_and_partition_count_and_writes_its_results()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            // Two silo processes as well: they once placed an ingress back and forth without end, and the run never
            // settled (a moving ingress deactivated instead of migrating; PartitionIngressGrain.EnsureRunningAsync).
            // Both stores: the multi-silo figure that matters for a deployment is PostgreSQL's.
            Assert.Equal(0, await ScaleRun.RunAsync(["--events", "3000", "--warmup", "500", "--silos", "1,2", "--partitions", "4", "--storage", "Sqlite,Postgres", "--runs", "1", "--users", "3000", "--items", "400", "--output", output]));

            var results = JsonSerializer.Deserialize<ScaleResults>(await File.ReadAllTextAsync(Path.Combine(output, ScaleResults.FileName)), ScaleResults.Json)!;
            Assert.Equal((3000, 400), (results.Settings.Users, results.Settings.Items));
            Assert.Contains("--users 3000 --items 400", results.Command, StringComparison.Ordinal);
            Assert.Equal([("Sqlite", 4, 1), ("Sqlite", 4, 2), ("Postgres", 4, 1), ("Postgres", 4, 2)], results.Summary.Select(r => (r.Storage, r.Partitions, r.Silos)));
            Assert.All(results.Runs, run =>
            {
                // The cluster settled with every silo process reading a share of the four partitions.
                Assert.Equal(run.Silos, run.PartitionsPerSilo.Count);
                Assert.Equal(4, run.PartitionsPerSilo.Sum());
                Assert.All(run.PartitionsPerSilo, p => Assert.True(p > 0, $"a silo without partitions: {run}"));
                Assert.True(run.BareEventsPerSecond > 0 && run.EventsPerSecond > 0 && run.SettleSeconds > 0, $"untimed: {run}");
                // The rate is over the time from the first event produced to the last stored, which includes the
                // producer's: never above the producer's own rate.
                Assert.True(run.ProduceSeconds > 0 && run.EventsPerSecond <= 3000 / run.ProduceSeconds, $"stored before produced: {run}");
                // A silo process (a .NET runtime, Orleans, librdkafka) is resident in tens of megabytes at least.
                Assert.True(run.PeakSiloResidentMegabytes > 20, $"no peak memory measured: {run}");
            });
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_report_and_charts_regenerate_from_the_committed_results()
    {
        // The committed results against a copy of the committed page: every marker is there, every block is
        // filled from its file, and gnuplot draws every chart. A renamed marker or a results file the report can
        // no longer read fails here, not at the end of a 25-minute bench.
        var work = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            var doc = Path.Combine(work, "benchmarks.md");
            File.Copy(RepoPaths.Of("docs", "benchmarks.md"), doc);
            var results = RepoPaths.Of("bench", "results");
            Assert.Equal(0, await ChartsRun.RunAsync(["--results", results, "--output", Path.Combine(work, "charts"), "--scripts", RepoPaths.Of("bench", "charts")]));
            foreach (var chart in new[] { ChartsRun.QueriesChart, ChartsRun.IngestChart, ChartsRun.ScaleChart, ChartsRun.RebuildChart })
            {
                var svg = await File.ReadAllTextAsync(Path.Combine(work, "charts", chart));
                Assert.Contains("<svg", svg, StringComparison.Ordinal);
                Assert.Contains("<path", svg, StringComparison.Ordinal);
            }

            Assert.Equal(0, await DocsReport.RunAsync(["--results", results, "--doc", doc]));
            var text = await File.ReadAllTextAsync(doc);
            Assert.DoesNotContain("*Not run yet", text, StringComparison.Ordinal);
            foreach (var name in new[] { "ingest", "scale", "queries", "memory", "rebuild", "freshness" })
            {
                var begin = text.IndexOf($"<!-- generated:{name}:begin -->", StringComparison.Ordinal);
                var end = text.IndexOf($"<!-- generated:{name}:end -->", StringComparison.Ordinal);
                Assert.True(begin >= 0 && end > begin, $"markers of {name}");
                Assert.Contains($"from `{Path.Combine(results, name + ".json")}`", text[begin..end], StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task The_query_benchmark_runs_open_loop_end_to_end_and_writes_its_results()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            // Every kind, `bare` the ceiling; a small population and a gentle ingest keep it to ~30 s.
            Assert.Equal(0, await QueryRun.RunAsync([
                "--kinds", "recommendations,similar,cart,user,bare", "--rates", "200", "--seconds", "2", "--warmup", "0.5", "--warm-pass", "0.5", "--runs", "1",
                "--ingest-rate", "500", "--users", "500", "--items", "100", "--preload-events", "2000", "--output", output]));

            var results = JsonSerializer.Deserialize<QueryResults>(await File.ReadAllTextAsync(Path.Combine(output, QueryResults.FileName)), QueryResults.Json)!;
            Assert.Equal(["recommendations", "similar", "cart", "user", "bare"], results.Summary.Select(r => r.Kind));
            Assert.All(results.Summary, row =>
            {
                Assert.Equal(200, row.OfferedQps);
                Assert.NotNull(row.P50Ms);
                Assert.True(row.P50Ms <= row.P95Ms && row.P95Ms <= row.P99Ms && row.P99Ms <= row.P999Ms && row.P999Ms <= row.MaxMs, $"{row.Kind}: percentiles out of order: {row}");
                // Open loop: nothing is skipped, and answers keep pace with the schedule on an idle cluster.
                Assert.InRange(row.AchievedQps, 0.5 * 200, 1.05 * 200);
            });

            var cells = Assert.Single(results.Runs).Cells;
            Assert.All(cells, c => Assert.Equal(400, c.Sent));
            // Every endpoint answers (after the preload's neighborhood round, similar items exist for every item).
            // The bare endpoint must answer everything; the cluster's may lose a request or two to a checkpoint on a
            // loaded machine, never more than 1 %.
            var bare = Assert.Single(cells, c => c.Kind == "bare");
            Assert.Equal(bare.Sent, bare.Ok);
            Assert.All(cells, c => Assert.True(c.Ok >= 0.99 * c.Sent, $"{c.Kind}: {c.Ok} of {c.Sent} answered 2xx"));
            Assert.NotNull(results.Summary.Single(r => r.Kind == "user").P99RatioToBare);
            Assert.True(results.Ingest.AchievedEventsPerSecond > 0, "the background ingest produced nothing");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_quality_evaluation_without_its_data_set_says_so_in_one_line_and_exits_as_skipped()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        var errors = new StringWriter();
        var before = Console.Error;
        Console.SetError(errors);
        try
        {
            var missing = Path.Combine(output, "no-such-file.csv.gz");
            Assert.Equal(QualityRun.DataMissingExitCode, await QualityRun.RunAsync(["--data", missing, "--output", output]));
            var line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal($"quality: skipped: {missing} does not exist; pass --data PATH to the purchases file or the published gzipped CSV (bench/README.md)", line.TrimEnd('\r'));
            Assert.False(File.Exists(Path.Combine(output, "quality.json")));
        }
        finally
        {
            Console.SetError(before);
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_quality_evaluation_runs_end_to_end_and_scores_every_method()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            // Two weeks of the real data set before the cut-off and the first 200 test baskets: seconds, not
            // minutes. No --data: the part finds the purchases file the repository ships (bench/data/) by walking
            // up from the test's folder, as it does from the repository root.
            Assert.Equal(0, await QualityRun.RunAsync(["--protocol", "basket", "--since", "2011-10-17", "--max-test-baskets", "200", "--output", output]));

            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "quality.json")));
            var root = results.RootElement;
            var dataset = root.GetProperty("dataset");
            Assert.Equal("purchases", dataset.GetProperty("format").GetString());
            Assert.True(dataset.GetProperty("sha256Verified").GetBoolean(), "the shipped purchases file differs from the one committed");
            Assert.Equal(397_924, dataset.GetProperty("purchasesKept").GetInt32());
            Assert.Equal(200, root.GetProperty("counts").GetProperty("testBaskets").GetInt64());
            Assert.Equal(0, root.GetProperty("counts").GetProperty("windowMismatches").GetInt64());

            var tables = root.GetProperty("tables").EnumerateArray().ToList();
            string[] engineAndBaselines = ["popularity", "item-kNN (batch)", "factors only", "neighborhoods only"];
            foreach (var segment in new[] { "warm", "cold" })
            {
                var fresh = tables.Single(t => t.GetProperty("segment").GetString() == segment && t.GetProperty("filter").GetString() == "new items only");
                var all = tables.Single(t => t.GetProperty("segment").GetString() == segment && t.GetProperty("filter").GetString() == "all items");
                Assert.Equal(["served", .. engineAndBaselines], Methods(fresh).Select(m => m.GetProperty("method").GetString()));
                Assert.Equal(["served (repeats allowed)", .. engineAndBaselines], Methods(all).Select(m => m.GetProperty("method").GetString()));
            }

            foreach (var method in tables.SelectMany(Methods))
            {
                foreach (var metric in new[] { "hitRate", "itemRecall", "basketRecall", "mrr", "coverage" })
                {
                    Assert.InRange(method.GetProperty(metric).GetDouble(), 0.0, 1.0);
                }
            }

            // Warm customers have a window, so every method (the baseline included) has something to go on.
            var warm = tables.Where(t => t.GetProperty("segment").GetString() == "warm").ToList();
            Assert.All(warm.SelectMany(Methods), m => Assert.True(m.GetProperty("coverage").GetDouble() > 0, m.GetProperty("method").GetString()));
            Assert.All(warm.SelectMany(Methods).Where(m => m.GetProperty("method").GetString()!.StartsWith("served", StringComparison.Ordinal)), m => Assert.True(m.GetProperty("hitRate").GetDouble() > 0));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_session_protocol_chooses_a_blend_on_validation_and_scores_it_with_every_baseline_on_test()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            // Five weeks of invoices as sessions: three to train, a week to choose on, a few days to test.
            Assert.Equal(0, await QualityRun.RunAsync(["--protocol", "sessions", "--since", "2011-09-01", "--validation-start", "2011-09-24", "--test-start", "2011-10-01", "--until", "2011-10-05", "--sample-sessions", "0.5", "--output", output]));

            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "quality-sessions.json")));
            var root = results.RootElement;
            Assert.True(root.GetProperty("counts").GetProperty("validationRequests").GetInt64() > 100);
            Assert.True(root.GetProperty("counts").GetProperty("testRequests").GetInt64() > 100);
            var grid = root.GetProperty("grid").EnumerateArray().ToList();
            Assert.True(grid.Count > 1);
            var best = grid.Max(g => g.GetProperty("validation").GetProperty("hitRate").GetDouble() + g.GetProperty("validation").GetProperty("mrr").GetDouble());
            var chosen = root.GetProperty("chosen").GetProperty("validation");
            Assert.Equal(best, chosen.GetProperty("hitRate").GetDouble() + chosen.GetProperty("mrr").GetDouble(), 12);

            var tables = root.GetProperty("tables").EnumerateArray().ToList();
            Assert.Equal(
                [("validation", "seen excluded"), ("validation", "seen included"), ("test", "seen excluded"), ("test", "seen included")],
                tables.Select(t => (t.GetProperty("period").GetString(), t.GetProperty("filter").GetString())));
            string[] baselines = ["popularity", "item-kNN (last item)", "association rules", "sequential rules", "session-kNN"];
            foreach (var table in tables)
            {
                var methods = table.GetProperty("methods").EnumerateArray().ToList();
                var names = methods.Select(m => m.GetProperty("method").GetString()!).ToList();
                Assert.Equal(baselines, names.TakeLast(5));
                Assert.Equal(table.GetProperty("period").GetString() == "test", names.Contains("served, blend chosen on validation"));
                foreach (var m in methods)
                {
                    foreach (var metric in new[] { "hitRate", "mrr", "diversity" })
                    {
                        Assert.InRange(m.GetProperty(metric).GetDouble(), 0.0, 1.0);
                    }
                }

                // Every method finds some next items: none of them is broken outright.
                Assert.All(methods, m => Assert.True(m.GetProperty("hitRate").GetDouble() > 0, m.GetProperty("method").GetString()));
            }
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_memory_benchmark_fills_user_and_item_grains_and_writes_its_results()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            Assert.Equal(0, await MemoryRun.RunAsync(["--users", "2000", "--items", "1000", "--clusters", "20", "--events-per-user", "10", "--output", output]));

            var results = JsonSerializer.Deserialize<MemoryResults>(await File.ReadAllTextAsync(Path.Combine(output, MemoryResults.FileName)), MemoryResults.Json)!;
            var f = results.Figures;
            Assert.Equal(20_000, f.Events);
            Assert.True(f.CooccurrenceEntries > 0 && f.ItemGrains > 0, $"no item side: {f}");
            // Every user got events and a factor step (the table holds every item), so each one holds a window
            // and a vector: far more than nothing, whatever the exact figure.
            Assert.Equal(2_000, f.UsersWithFactors);
            Assert.InRange(f.BytesPerUser, 100, 100_000);
            Assert.InRange(f.BytesPerEntry, 1, 10_000);
            Assert.True(f.StoredBytesPerUser > 0 && f.StoredBytesPerEntry > 0 && f.StoredBytesPerItem > 0, $"stored sizes missing: {f}");
            Assert.NotNull(results.Load.AtStart);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_rebuild_benchmark_times_a_round_per_size_and_writes_its_results()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            Assert.Equal(0, await RebuildRun.RunAsync(["--nnz", "5000,20000", "--items", "2000", "--clusters", "40", "--output", output]));

            var results = JsonSerializer.Deserialize<RebuildResults>(await File.ReadAllTextAsync(Path.Combine(output, RebuildResults.FileName)), RebuildResults.Json)!;
            Assert.Equal([5_000L, 20_000L], results.Rows.Select(r => r.TargetEntries));
            Assert.All(results.Rows, row =>
            {
                // Pairs add two entries at a time, so each kind of row may overshoot its share by one.
                Assert.InRange(row.NonZeroEntries, row.TargetEntries, row.TargetEntries + 2);
                Assert.True(row.Single.TotalSeconds > 0 && row.Parallel.TotalSeconds > 0, $"untimed: {row}");
                Assert.True(row.Single.EntriesSeconds > 0 && row.Single.EntriesSeconds <= row.Single.TotalSeconds, $"steps: {row.Single}");
                Assert.True(row.EncodedBytes > 0 && row.MeanNeighbors > 0, $"empty snapshot: {row}");
            });
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_freshness_benchmark_sees_every_event_reach_the_recommendations_and_writes_its_results()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            Assert.Equal(0, await FreshnessRun.RunAsync([
                "--samples", "15", "--users", "300", "--items", "100", "--preload-events", "1500", "--ingest-rate", "200",
                "--idle-samples", "5", "--idle-gap-ms", "200", "--output", output]));

            var results = JsonSerializer.Deserialize<FreshnessResults>(await File.ReadAllTextAsync(Path.Combine(output, FreshnessResults.FileName)), FreshnessResults.Json)!;
            var s = results.Summary;
            Assert.Equal(15, results.Samples.Count);
            Assert.Equal(0, s.Timeouts);
            Assert.Equal(15, s.FromAck.Count + s.Skipped);
            Assert.True(s.FromAck.Count > 0, "no sample had a list to watch");
            // The viewed item is in the user's window afterwards, so it always leaves the list.
            Assert.Equal(s.FromAck.Count, s.SeenAsLeft);
            foreach (var l in new[] { s.FromAck, s.FromSend, s.Produce, s.Poll })
            {
                Assert.True(l.P50Ms >= 0 && l.P50Ms <= l.P95Ms && l.P95Ms <= l.P99Ms && l.P99Ms <= l.MaxMs, $"percentiles out of order: {l}");
            }

            Assert.True(s.FromSend.P50Ms >= s.FromAck.P50Ms, "sending comes before the acknowledgment");
            Assert.Equal(2, results.Rebuilds.Count);
            Assert.All(results.Rebuilds, r => Assert.True(r.WallSeconds > 0 && r.Version > 0, $"rebuild: {r}"));
            Assert.True(results.Rebuilds[1].Version > results.Rebuilds[0].Version);
            Assert.True(results.Ingest.AchievedEventsPerSecond > 0, "the background ingest produced nothing");

            // The idle part: its own sample users, each event seen, after the ingest stopped.
            var idle = results.Idle!;
            Assert.Equal(5, results.IdleSamples!.Count);
            Assert.Empty(results.IdleSamples.Select(m => m.UserId).Intersect(results.Samples.Select(m => m.UserId)));
            Assert.Equal(0, idle.Timeouts);
            Assert.Equal(5, idle.FromAck.Count + idle.Skipped);
            Assert.Equal(idle.FromAck.Count, idle.SeenAsLeft);
            Assert.True(idle.FromAck.Count > 0, "no idle sample had a list to watch");
            Assert.Contains("idle: Kafka acknowledgment", FreshnessTables.Markdown(results), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static IEnumerable<JsonElement> Methods(JsonElement table) => table.GetProperty("methods").EnumerateArray();
}
