using System.Text.Json;
using RecoCluster.Bench.Ingest;

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
}
