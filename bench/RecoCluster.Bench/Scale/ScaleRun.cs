using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Bench.Ingest;
using RecoCluster.Bench.Queries;
using RecoCluster.Cluster;
using RecoCluster.Host;
using RecoCluster.Silo.Runtime;

namespace RecoCluster.Bench.Scale;

/// <summary>
/// Ingest throughput against the number of silos and of partitions. Each run: the ingest bench's workload is
/// produced to a fresh embedded Kafka with P partitions, a bare consumer reads it (the ceiling, in the same run),
/// then S silos start together on a fresh SQLite database and apply it. The steady rate is measured from the
/// moment the group has settled (every silo ready, every partition owned by exactly one of them) to the last
/// event, so joins and rebalances are reported apart (settle time, whole-run rate) instead of mixed into it.
/// </summary>
/// <remarks>
/// The silos share this process and its cores, as the test cluster's do: on a 2-core machine this measures what
/// more silos and more partitions cost (more consumers, workers, checkpoints, shuffle batches and directory
/// traffic for the same work), not a speed-up. Sized for the mock broker's retention like the ingest bench:
/// 200,000 events of ~150 bytes are ~940 KB per partition at 32 partitions and ~3.8 MB at 8.
/// </remarks>
public static class ScaleRun
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    /// <summary>Options (defaults): <c>--events</c> 200,000; <c>--silos</c> 1,2,4; <c>--partitions</c> 8,32;
    /// <c>--runs</c> 3; <c>--output</c> bench/results.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var events = BenchArgs.Int(args, "--events", 200_000);
        var runs = BenchArgs.Int(args, "--runs", 3);
        var silos = BenchArgs.List(args, "--silos", ["1", "2", "4"]).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var partitions = BenchArgs.List(args, "--partitions", ["8", "32"]).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        if (events < 1 || runs < 1 || silos.Length == 0 || silos.Any(s => s < 1) || partitions.Length == 0 || partitions.Any(p => p < 1))
        {
            Console.Error.WriteLine("scale: need --events ≥ 1, --runs ≥ 1, and silo and partition counts ≥ 1");
            return 2;
        }

        var loadAtStart = MachineInfo.LoadAverage();
        Console.WriteLine($"scale: {events:N0} events, silos {string.Join(',', silos)}, partitions {string.Join(',', partitions)}, {runs} runs, SQLite, {Environment.ProcessorCount} cores");
        var results = new List<ScaleRunResult>();
        // Runs outermost, so that a burst of load from elsewhere hits one run of every configuration rather than
        // every run of one.
        for (var run = 1; run <= runs; run++)
        {
            foreach (var p in partitions)
            {
                foreach (var s in silos)
                {
                    var result = await OneRunAsync(run, events, p, s);
                    results.Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  run {run} partitions {p,2} silos {s}: bare {result.BareEventsPerSecond,9:N0} ev/s; steady {result.SteadyEventsPerSecond,8:N0} ev/s; whole run {result.WholeRunEventsPerSecond,8:N0} ev/s; item side {result.ItemSideEventsPerSecond,8:N0} ev/s; settled after {result.SettleSeconds:0.0} s ({result.AppliedBeforeSettled:P0} applied before); partitions per silo {string.Join('/', result.PartitionsPerSilo)}"));
                }
            }
        }

        var summary = results.GroupBy(r => (r.Partitions, r.Silos)).Select(g => new ScaleSummaryRow(
            g.Key.Partitions,
            g.Key.Silos,
            g.Count(),
            BenchArgs.Median(g.Select(r => r.BareEventsPerSecond)),
            BenchArgs.Median(g.Select(r => r.SteadyEventsPerSecond)),
            BenchArgs.Median(g.Select(r => r.SteadyEventsPerSecond / r.BareEventsPerSecond)),
            BenchArgs.Median(g.Select(r => r.WholeRunEventsPerSecond)),
            BenchArgs.Median(g.Select(r => r.ItemSideEventsPerSecond)),
            BenchArgs.Median(g.Select(r => r.SettleSeconds)),
            BenchArgs.Median(g.Select(r => r.AppliedBeforeSettled)))).ToList();
        var command = BenchArgs.Command("scale", [
            "--events", events.ToString(CultureInfo.InvariantCulture), "--silos", string.Join(',', silos),
            "--partitions", string.Join(',', partitions), "--runs", runs.ToString(CultureInfo.InvariantCulture)]);
        var file = new ScaleResults("scale", DateTimeOffset.UtcNow, command, MachineInfo.Current(), new LoadAverages(loadAtStart, MachineInfo.LoadAverage()),
            new ScaleSettings(events, runs, silos, partitions, "Sqlite"), summary, results);
        return await BenchOutput.WriteAsync("scale", output, ScaleResults.FileName, file, ScaleResults.Json, ScaleTables.Markdown(file));
    }

    private static async Task<ScaleRunResult> OneRunAsync(int run, int count, int partitions, int siloCount)
    {
        using var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"s{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, partitions);
        await IngestRun.ProduceAsync(kafka.BootstrapServers, topics.Events, count, seed: run);
        var bare = IngestRun.BareConsume(kafka.BootstrapServers, topics.Events, count);

        var dataDir = Directory.CreateTempSubdirectory("reco-bench-scale-");
        var config = BenchSiloConfig.For(kafka.BootstrapServers, topics, "Sqlite", $"Data Source={Path.Combine(dataDir.FullName, "reco.db")}");
        var hosts = Enumerable.Range(0, siloCount).Select(_ => ClusterHosts.BuildSilo([], config)).ToList();
        var runtimes = hosts.Select(h => h.Services.GetRequiredService<SiloRuntime>()).ToList();
        try
        {
            // The monitor runs from before the silos start, so that the first event applied is never missed.
            var monitor = Task.Run(() => Monitor(runtimes, partitions, count));
            await Task.WhenAll(hosts.Select(h => h.StartAsync()));
            var m = await monitor;
            var steadyEvents = count - m.AppliedAtSettle;
            var steadySeconds = (m.UserSideDone - m.Settled).TotalSeconds;
            return new ScaleRunResult(
                run,
                partitions,
                siloCount,
                count / bare.TotalSeconds,
                // Everything applied before the group settled leaves nothing to time: no steady rate then.
                steadyEvents > 0 && steadySeconds > 0 ? steadyEvents / steadySeconds : double.NaN,
                count / m.UserSideDone.TotalSeconds,
                count / m.ItemSideDone.TotalSeconds,
                m.Settled.TotalSeconds,
                (double)m.AppliedAtSettle / count,
                m.PartitionsPerSilo);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.StopAsync();
                await host.DisposeAsync();
            }

            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>Polls the silos every 10 ms until the item side is done. Times are from the first event applied,
    /// as the bare consumer's are from its first record (see <see cref="IngestRun.BareConsume"/>).</summary>
    private static Measurement Monitor(IReadOnlyList<SiloRuntime> silos, int partitions, int count)
    {
        var total = Stopwatch.StartNew();
        var clock = new Stopwatch();
        TimeSpan? settled = null;
        long appliedAtSettle = 0;
        int[] perSilo = [];
        TimeSpan? userSide = null;
        var quietSince = TimeSpan.Zero;
        while (true)
        {
            Thread.Sleep(10);
            if (total.Elapsed > Deadline)
            {
                throw new TimeoutException($"{silos.Count} silo(s) applied {silos.Sum(s => s.Stats.Applied):N0} of {count:N0} events in {Deadline}");
            }

            var applied = silos.Sum(s => s.Stats.Applied);
            if (!clock.IsRunning && applied > 0)
            {
                clock.Start();
            }

            if (settled is null && IsSettled(silos, partitions))
            {
                settled = clock.Elapsed;
                appliedAtSettle = applied;
                perSilo = [.. silos.Select(s => s.OwnedPartitions.Length)];
            }

            if (userSide is null && applied >= count)
            {
                userSide = clock.Elapsed;
            }

            if (userSide is null || settled is null)
            {
                continue;
            }

            // As in the ingest bench: the item side is done when every shuffle batch sent so far was applied or
            // dropped as a re-send, and that stayed so for 1.5 s.
            var sent = silos.Sum(s => s.Stats.DeltaBatchesSent);
            var done = silos.Sum(s => s.Stats.DeltaBatchesApplied + s.Stats.DuplicateBatchesDropped);
            if (sent == 0 || done < sent)
            {
                quietSince = TimeSpan.Zero;
            }
            else if (quietSince == TimeSpan.Zero)
            {
                quietSince = clock.Elapsed;
            }
            else if (clock.Elapsed - quietSince > TimeSpan.FromSeconds(1.5))
            {
                return new Measurement(settled.Value, appliedAtSettle, userSide.Value, quietSince, perSilo);
            }
        }
    }

    // Every silo ready and holding a share (when there are enough partitions to go round), and every partition
    // owned by exactly one of them: no rebalance is left to happen.
    private static bool IsSettled(IReadOnlyList<SiloRuntime> silos, int partitions)
    {
        if (!silos.All(s => s.IsReady))
        {
            return false;
        }

        var owned = silos.Select(s => s.OwnedPartitions).ToList();
        if (owned.Count(o => o.Length > 0) < Math.Min(silos.Count, partitions))
        {
            return false;
        }

        var all = owned.SelectMany(o => o).Order().ToArray();
        return all.SequenceEqual(Enumerable.Range(0, partitions));
    }

    private sealed record Measurement(TimeSpan Settled, long AppliedAtSettle, TimeSpan UserSideDone, TimeSpan ItemSideDone, int[] PartitionsPerSilo);
}
