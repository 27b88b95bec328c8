using System.Text.Json;
using RecoCluster.Bench.Ingest;
using RecoCluster.Bench.Quality;

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
    public async Task The_quality_evaluation_runs_end_to_end_and_scores_every_method()
    {
        var output = Directory.CreateTempSubdirectory("reco-bench-smoke-").FullName;
        try
        {
            // Three weeks of the real data set before the cut-off and the first 200 test baskets: seconds, not
            // minutes. The data set is found from the working directory (../shared/datasets/online-retail from the
            // repository root).
            Assert.Equal(0, await QualityRun.RunAsync(["--since", "2011-10-10", "--max-test-baskets", "200", "--output", output]));

            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "quality.json")));
            var root = results.RootElement;
            Assert.True(root.GetProperty("dataset").GetProperty("sha256Verified").GetBoolean());
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
