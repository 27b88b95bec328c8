using System.Globalization;
using static RecoCluster.Bench.BenchText;

namespace RecoCluster.Bench.Rebuild;

/// <summary>The rebuild bench's results as Markdown: printed at the end of a run and put into docs/benchmarks.md
/// by <c>report</c>.</summary>
public static class RebuildTables
{
    public static string Markdown(RebuildResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var s = results.Settings;
        var lines = new List<string>
        {
            I($"| non-zero entries | items | longest row | counts + merge | entries | encode | decode + build | total, 1 thread | total, {s.Partitions} partitions in parallel | parts |"),
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        };
        foreach (var r in results.Rows)
        {
            var t = r.Single;
            lines.Add(I($"| {r.NonZeroEntries:N0} | {r.ItemsWithState:N0} | {r.LongestRow:N0} | {Sec(t.CountsSeconds + t.MergeSeconds)} | {Sec(t.EntriesSeconds)} | {Sec(t.EncodeSeconds)} | {Sec(t.DecodeSeconds + t.BuildSeconds)} | {Sec(t.TotalSeconds)} | {Sec(r.Parallel.TotalSeconds)} | {r.EncodedBytes / 1e6:N1} MB |"));
        }

        lines.Add("");
        lines.Add(I($"Step columns are single-threaded; the last total runs the per-partition steps (counts, entries, encode) as {s.Partitions} parallel tasks on this machine's {results.Machine.Cores} cores and the rest once. {s.Measure}, K = {s.NeighborCount}, vectors of {s.FactorDimensions} floats per item; rows drawn from {s.Items:N0} items (Zipf, {s.Clusters:N0} clusters, {s.HomeShare:P0} of pairs within a cluster), {s.PurchaseShare:P0} of the entries in purchase rows; {(s.Runs == 1 ? "one run per size" : $"medians of {s.Runs} runs per size")}. Not included: reading the rows from the database, writing and reading the parts, and the silos' 200 ms poll for a published version."));
        var atTarget = results.Rows.Where(r => r.NonZeroEntries >= RebuildResults.TargetEntries).MinBy(r => r.NonZeroEntries);
        lines.Add("");
        lines.Add(atTarget is null
            ? I($"Target (≤ {RebuildResults.TargetSeconds:N0} s at {RebuildResults.TargetEntries:N0} entries): not measured at that size in this run.")
            : I($"Target (≤ {RebuildResults.TargetSeconds:N0} s at {RebuildResults.TargetEntries:N0} entries): {atTarget.Single.TotalSeconds:N1} s on one thread ({Verdict(atTarget.Single.TotalSeconds)}), {atTarget.Parallel.TotalSeconds:N1} s with {s.Partitions} partitions in parallel ({Verdict(atTarget.Parallel.TotalSeconds)})."));
        return string.Join('\n', lines);
    }

    private static string Verdict(double seconds) => seconds <= RebuildResults.TargetSeconds ? "met" : "not met";

    private static string Sec(double seconds) =>
        I($"{seconds.ToString(seconds < 10 ? "0.00" : "N1", CultureInfo.InvariantCulture)} s");
}
