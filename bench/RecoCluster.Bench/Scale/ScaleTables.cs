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
            "| storage | partitions | silos | bare consumer | silos' rate | ratio | against one silo | CPU per event | cores busy | largest silo's peak memory | settled after |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        };
        var one = results.Summary.Where(r => r.Silos == 1).ToDictionary(r => (r.Storage, r.Partitions));
        foreach (var r in results.Summary.OrderBy(r => r.Storage, StringComparer.Ordinal).ThenBy(r => r.Partitions).ThenBy(r => r.Silos))
        {
            var against = one.TryGetValue((r.Storage, r.Partitions), out var baseline) ? I($"{r.EventsPerSecond / baseline.EventsPerSecond:0.00}×") : "n/a";
            var peak = r.PeakSiloResidentMegabytes is { } mb ? I($"{mb:N0} MiB") : "not measured";
            lines.Add(I($"| {r.Storage} | {r.Partitions} | {r.Silos} | {r.BareEventsPerSecond:N0} ev/s | {r.EventsPerSecond:N0} ev/s | {r.Ratio:P1} | {against} | {r.CpuMicrosecondsPerEvent:0.0} µs | {r.CoresBusy:P0} | {peak} | {r.SettleSeconds:0.0} s |"));
        }

        var s = results.Settings;
        lines.Add("");
        var workload = s.Users > 0 ? I($" ({s.Users:N0} users, {s.Items:N0} items)") : "";
        lines.Add(I($"{s.Events:N0} events per run{workload}, produced once the cluster had settled and stored {s.Warmup:N0} events of warm-up; {(s.Runs == 1 ? "one run" : $"medians of {s.Runs} runs")} per row; each silo a `reco silo` process of its own (Orleans, {s.Clustering} clustering), every silo of a run on one database. \"Against one silo\": the row's rate over one silo's on the same storage and partitions. \"CPU per event\": the CPU time of the silo processes and of the bench's (the embedded Kafka, the producer) from the first event produced to the last stored, per event; \"cores busy\": that time over the stretch's length on all cores. \"Largest silo's peak memory\": the highest peak resident memory (VmHWM) of one silo process when the last event was stored. Every run's figures are in `bench/results/{ScaleResults.FileName}`."));
        return string.Join('\n', lines);
    }
}
