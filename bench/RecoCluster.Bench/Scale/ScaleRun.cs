using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RecoCluster.Bench.Ingest;
using RecoCluster.Bench.Queries;
using RecoCluster.Cluster;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Ingress;

namespace RecoCluster.Bench.Scale;

/// <summary>
/// Ingest throughput against the number of silos and of partitions. Each run: the ingest bench's workload is
/// produced to a fresh embedded Kafka with P partitions, a bare consumer reads it (the ceiling, in the same run),
/// then S silos, each a <c>reco silo</c> process of its own, start together on one fresh SQLite database and apply
/// it. The steady rate is measured from the moment the cluster has settled (every silo an active member, every
/// partition's ingress running on the silo it belongs on) to the last event stored, so joins and the moves they
/// cause are reported apart (settle time, whole-run rate) instead of mixed into it.
/// </summary>
/// <remarks>
/// Progress is read from the ingresses' checkpoints, which move once both sides of a batch are stored (see
/// <see cref="IngressCheckpoints"/>); where each ingress runs, from an Orleans client in this process. The silos
/// share the machine's cores with each other and with this process, which hosts the embedded Kafka: on a 2-core
/// machine this measures what more silos and more partitions cost (more processes, readers, batches, row writes
/// and SQLite writers taking turns on one file), not a speed-up. Sized for the mock broker's retention like the
/// ingest bench: 200,000 events of ~150 bytes are ~940 KB per partition at 32 partitions and ~3.8 MB at 8.
/// </remarks>
public static class ScaleRun
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    // Each check asks the directory where every ingress runs, so it is spaced out; the checkpoints are read every 20 ms.
    private static readonly TimeSpan SettleCheckInterval = TimeSpan.FromMilliseconds(250);

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
        Console.WriteLine($"scale: {events:N0} events, silos {string.Join(',', silos)}, partitions {string.Join(',', partitions)}, {runs} runs, a process per silo, SQLite, {Environment.ProcessorCount} cores");
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
                        $"  run {run} partitions {p,2} silos {s}: bare {result.BareEventsPerSecond,9:N0} ev/s; steady {result.SteadyEventsPerSecond,8:N0} ev/s; whole run {result.WholeRunEventsPerSecond,8:N0} ev/s; settled after {result.SettleSeconds:0.0} s ({result.AppliedBeforeSettled:P0} stored before); partitions per silo {string.Join('/', result.PartitionsPerSilo)}"));
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
            BenchArgs.Median(g.Select(r => r.SettleSeconds)),
            BenchArgs.Median(g.Select(r => r.AppliedBeforeSettled)))).ToList();
        var command = BenchArgs.Command("scale", [
            "--events", events.ToString(CultureInfo.InvariantCulture), "--silos", string.Join(',', silos),
            "--partitions", string.Join(',', partitions), "--runs", runs.ToString(CultureInfo.InvariantCulture)]);
        var file = new ScaleResults("scale", DateTimeOffset.UtcNow, command, MachineInfo.Current(), new LoadAverages(loadAtStart, MachineInfo.LoadAverage()),
            new ScaleSettings(events, runs, silos, partitions, "Sqlite", nameof(OrleansClustering.Localhost)), summary, results);
        return await BenchOutput.WriteAsync("scale", output, ScaleResults.FileName, file, ScaleResults.Json, ScaleTables.Markdown(file));
    }

    private static async Task<ScaleRunResult> OneRunAsync(int run, int count, int partitions, int siloCount)
    {
        using var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"s{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, partitions);
        await IngestRun.ProduceAsync(kafka.BootstrapServers, topics.Events, count, seed: run);
        var (bare, _) = IngestRun.BareConsume(kafka.BootstrapServers, topics.Events, count);

        var dataDir = Directory.CreateTempSubdirectory("reco-bench-scale-");
        var connection = $"Data Source={Path.Combine(dataDir.FullName, "reco.db")}";
        var checkpoints = IngressCheckpoints.Open("Sqlite", connection);
        var silos = new List<SiloProcess>();
        using var connecting = new CancellationTokenSource(Deadline);
        Task<IHost>? connected = null;
        try
        {
            // The silos create the schema as they start; created first, it is there for the monitor's first read.
            await checkpoints.MigrateAsync();
            // Every port at once, so that no two silos are given the same. The first silo is the primary, which
            // the others join (localhost clustering) and the client here connects to.
            var ports = BenchSiloConfig.FreePorts(2 * siloCount);
            var configs = Enumerable.Range(0, siloCount).Select(i =>
            {
                var config = BenchSiloConfig.For(kafka.BootstrapServers, topics, "Sqlite", connection);
                BenchSiloConfig.SetSiloPorts(config, ports[2 * i], ports[(2 * i) + 1], primarySiloPort: ports[0]);
                return config;
            }).ToList();
            silos.AddRange(configs.Select((c, i) => SiloProcess.Start($"silo-{i + 1}", c)));
            connected = ConnectAsync(configs[0], connecting.Token);
            var m = await MonitorAsync(checkpoints, connected, silos, partitions, count);
            var steadyEvents = count - m.StoredAtSettle;
            var steadySeconds = (m.Done - m.Settled).TotalSeconds;
            return new ScaleRunResult(
                run,
                partitions,
                siloCount,
                count / bare.TotalSeconds,
                // Everything stored before the cluster settled leaves nothing to time: no steady rate then.
                steadyEvents > 0 && steadySeconds > 0 ? steadyEvents / steadySeconds : double.NaN,
                count / m.Done.TotalSeconds,
                m.Settled.TotalSeconds,
                (double)m.StoredAtSettle / count,
                m.PartitionsPerSilo);
        }
        finally
        {
            // The client first: it would otherwise spend its stop waiting for silos that are gone.
            await connecting.CancelAsync();
            if (connected is not null && await connected.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default) is { } client)
            {
                await client.StopAsync();
                client.Dispose();
            }

            foreach (var silo in silos)
            {
                silo.Dispose();
            }

            await checkpoints.DisposeAsync();
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>An Orleans client of the run's cluster, through the primary silo's gateway port; it keeps trying
    /// until that silo is up.</summary>
    private static async Task<IHost> ConnectAsync(Dictionary<string, string?> primary, CancellationToken ct)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        // Its failed attempts while the primary starts are expected, and a real failure ends the run with an
        // exception, so only errors are logged.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(primary) { ["Logging:LogLevel:Default"] = "Error" });
        builder.UseOrleansClient(client => client.UseRecoCluster(builder.Configuration));
        builder.Services.AddSingleton<IClientConnectionRetryFilter, ClusterConnectionRetry>();
        var host = builder.Build();
        try
        {
            await host.StartAsync(ct);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Polls the checkpoints every 20 ms until all events are stored and the cluster has settled. Times are
    /// from the first partition claimed by an ingress, which starts reading right after its claim, as the bare
    /// consumer's are from its first record (see <see cref="IngestRun"/>).</summary>
    private static async Task<Measurement> MonitorAsync(IngressCheckpoints checkpoints, Task<IHost> client, IReadOnlyList<SiloProcess> silos, int partitions, int count)
    {
        var total = Stopwatch.StartNew();
        var clock = new Stopwatch();
        using var stop = new CancellationTokenSource();
        // Apart from the polling loop: asking an ingress where it runs waits for its turn on the batch in hand,
        // which can take seconds, and the last checkpoint must not wait for that to be seen.
        var settling = WatchSettlingAsync(checkpoints, client, silos, partitions, clock, stop.Token);
        try
        {
            TimeSpan? done = null;
            while (true)
            {
                if (silos.FirstOrDefault(s => s.HasExited) is { } exited)
                {
                    throw new InvalidOperationException($"{exited.Name} exited during the run; its last output:\n{exited.Tail()}");
                }

                var (claimed, stored, _) = await checkpoints.ReadAsync();
                if (total.Elapsed > Deadline)
                {
                    throw new TimeoutException($"{silos.Count} silo(s) stored {stored:N0} of {count:N0} events in {Deadline}{(settling.IsCompleted ? "" : " and never settled")}; the first silo's last output:\n{silos[0].Tail()}");
                }

                if (!clock.IsRunning && claimed > 0)
                {
                    clock.Start();
                }

                if (done is null && stored >= count)
                {
                    done = clock.Elapsed;
                }

                if (settling.IsFaulted)
                {
                    await settling;
                }

                if (settling.IsCompleted && done is { } d)
                {
                    var (at, storedThen, perSilo) = await settling;
                    return new Measurement(at, storedThen, d, perSilo);
                }

                await Task.Delay(20);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await settling.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Checks every <see cref="SettleCheckInterval"/> whether every silo is an active member and every
    /// partition's ingress runs on its home among them (<see cref="PartitionSpreadPlacement"/>), so that nothing is
    /// left to move. Returns when it was first seen so, what was stored then, and the partitions each silo reads, in
    /// the order of <paramref name="silos"/>.</summary>
    private static async Task<(TimeSpan At, long Stored, int[] PerSilo)> WatchSettlingAsync(IngressCheckpoints checkpoints, Task<IHost> client, IReadOnlyList<SiloProcess> silos, int partitions, Stopwatch clock, CancellationToken ct)
    {
        var grains = (await client.WaitAsync(ct)).Services.GetRequiredService<IClusterClient>();
        var management = grains.GetGrain<IManagementGrain>(0);
        var ingresses = Enumerable.Range(0, partitions).Select(p => grains.GetGrain<IPartitionIngressGrain>(p)).ToArray();
        while (true)
        {
            try
            {
                var hosts = (await management.GetDetailedHosts(onlyActive: true)).ToDictionary(h => h.SiloName, h => h.SiloAddress, StringComparer.Ordinal);
                if (hosts.Count == silos.Count && silos.All(s => hosts.ContainsKey(s.Name)))
                {
                    var homes = Enumerable.Range(0, partitions).Select(p => PartitionSpreadPlacement.Home(p, hosts.Values)).ToArray();
                    // The directory first: calling an ingress that is not at home makes it move at once, sooner than
                    // the silos' keepers would, and would shorten the settling this measures.
                    var located = await Task.WhenAll(ingresses.Select(i => management.GetActivationAddress(i).AsTask()));
                    if (located.Select((silo, p) => homes[p].Equals(silo)).All(home => home))
                    {
                        var at = clock.Elapsed;
                        var stored = (await checkpoints.ReadAsync(ct)).Stored;
                        // The directory's view may lag behind a move; the ingresses' own reports settle it (asking one
                        // that is at home changes nothing).
                        var statuses = await Task.WhenAll(ingresses.Select(i => i.EnsureRunningAsync()));
                        if (statuses.All(s => s.Silo == homes[s.Partition].ToString()))
                        {
                            return (at, stored, [.. silos.Select(s => homes.Count(home => home.Equals(hosts[s.Name])))]);
                        }
                    }
                }
            }
            catch (OrleansException) when (!ct.IsCancellationRequested)
            {
                // A silo joining while it was asked: ask again at the next check.
            }

            await Task.Delay(SettleCheckInterval, ct);
        }
    }

    private sealed record Measurement(TimeSpan Settled, long StoredAtSettle, TimeSpan Done, int[] PartitionsPerSilo);
}
