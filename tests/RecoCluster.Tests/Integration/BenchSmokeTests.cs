using System.Text.Json;
using RecoCluster.Bench.Ingest;
using RecoCluster.Bench.Quality;
using RecoCluster.Bench.Queries;

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
            Assert.All(summary, s => Assert.True(s.GetProperty("medianUserSideEventsPerSecond").GetDouble() > 0));
            Assert.All(summary, s => Assert.True(s.GetProperty("medianBareEventsPerSecond").GetDouble() > 0));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
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
                "--kinds", "recommendations,similar,cart,user,bare", "--rates", "200", "--seconds", "2", "--warmup", "0.5", "--runs", "1",
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
    public async Task The_quality_evaluation_runs_end_to_end_and_scores_every_method()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            // Two weeks of the real data set before the cut-off and the first 200 test baskets: seconds, not
            // minutes. A slice committed with the tests (Data/README.md), so the test does not depend on where the
            // full data set lives; it is not the published file, so its sha256 does not match the README's.
            var slice = Path.Combine(AppContext.BaseDirectory, "Data", "online-retail-2011-10-17-to-11-03.csv.gz");
            Assert.Equal(0, await QualityRun.RunAsync(["--data", slice, "--since", "2011-10-17", "--max-test-baskets", "200", "--output", output]));

            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "quality.json")));
            var root = results.RootElement;
            Assert.False(root.GetProperty("dataset").GetProperty("sha256Verified").GetBoolean());
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

    private static IEnumerable<JsonElement> Methods(JsonElement table) => table.GetProperty("methods").EnumerateArray();
}
