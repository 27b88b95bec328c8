using System.Text.Json;
using RecoCluster.Bench.Ingest;
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
            // `user` exists today, `bare` is the ceiling; a small population and a gentle ingest keep it to ~20 s.
            Assert.Equal(0, await QueryRun.RunAsync([
                "--kinds", "user,bare", "--rates", "200", "--seconds", "2", "--warmup", "0.5", "--runs", "1",
                "--ingest-rate", "500", "--users", "500", "--items", "100", "--preload-events", "2000", "--output", output]));

            var results = JsonSerializer.Deserialize<QueryResults>(await File.ReadAllTextAsync(Path.Combine(output, QueryResults.FileName)), QueryResults.Json)!;
            Assert.Equal(["user", "bare"], results.Summary.Select(r => r.Kind));
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
            var bare = Assert.Single(cells, c => c.Kind == "bare");
            Assert.Equal(bare.Sent, bare.Ok);
            Assert.Empty(bare.Errors);
            Assert.NotNull(results.Summary.Single(r => r.Kind == "user").P99RatioToBare);
            Assert.True(results.Ingest.AchievedEventsPerSecond > 0, "the background ingest produced nothing");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
