using static RecoCluster.Bench.BenchText;

namespace RecoCluster.Bench.Scale;

/// <summary>The scale bench's results as Markdown: printed at the end of a run and put into docs/benchmarks.md
/// by <c>report</c>.</summary>
public static class ScaleTables
{
    public static string Markdown(ScaleResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = new List<string>
        {
            "| partitions | silos | bare consumer | steady | ratio | whole run | settled after | stored before settled |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        };
        foreach (var r in results.Summary.OrderBy(r => r.Partitions).ThenBy(r => r.Silos))
        {
            lines.Add(I($"| {r.Partitions} | {r.Silos} | {r.BareEventsPerSecond:N0} ev/s | {Rate(r.SteadyEventsPerSecond)} | {Ratio(r.SteadyRatio)} | {r.WholeRunEventsPerSecond:N0} ev/s | {r.SettleSeconds:0.0} s | {r.AppliedBeforeSettled:P0} |"));
        }

        var s = results.Settings;
        lines.Add("");
        lines.Add(I($"{s.Events:N0} events per run; {(s.Runs == 1 ? "one run" : $"medians of {s.Runs} runs")} per row; {Silos(s)}, on one {s.Storage} database. Every run's figures are in `bench/results/{ScaleResults.FileName}`."));
        var baseline = results.Summary.Where(r => r.Silos == 1).ToDictionary(r => r.Partitions);
        var rel = results.Summary.Where(r => r.Silos > 1 && baseline.ContainsKey(r.Partitions) && double.IsFinite(r.SteadyEventsPerSecond))
            .OrderBy(r => r.Partitions).ThenBy(r => r.Silos)
            .Select(r => I($"{r.Silos} silos on {r.Partitions} partitions {r.SteadyEventsPerSecond / baseline[r.Partitions].SteadyEventsPerSecond:0.00}×"))
            .ToList();
        if (rel.Count > 0)
        {
            lines.Add("");
            lines.Add($"Steady rate against one silo on the same partitions: {string.Join("; ", rel)}.");
        }

        return string.Join('\n', lines);
    }

    private static string Silos(ScaleSettings settings) =>
        settings.Clustering is { } clustering
            ? I($"each silo a `reco silo` process of its own (Orleans, {clustering} clustering)")
            : "every silo in the bench's process (the first runtime: the file predates the bench's move onto Orleans; steady and whole run were of the user side alone)";

    private static string Rate(double value) => double.IsFinite(value) ? I($"{value:N0} ev/s") : "n/a";

    private static string Ratio(double value) => double.IsFinite(value) ? I($"{value:P1}") : "n/a";
}
