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
/// Ingest throughput against the number of silos, per storage and partition count. Each run: the ingest bench's
/// workload is produced to a topic of its own and read back by a bare consumer (the ceiling, in the same run); then
/// S silos, each a <c>reco silo</c> process of its own, start together on one fresh database and an empty events
/// topic, and once the cluster has settled (every silo an active member, every partition's ingress running on the
/// silo it belongs on) the same workload is produced to the events topic. The rate is its events over the time from
/// the first event produced to the last stored on both sides: what a formed cluster of S silos does with a burst.
/// </summary>
/// <remarks>
/// Joins are kept out of the rate on purpose. The first version of this bench started the silos on a topic that
/// already held the workload, so the first silo up claimed every partition and the others took theirs over as they
/// joined, each move restarting an ingress from its checkpoint; how long that lasted depended on which silo process
/// happened to start first on a busy machine, and the rate after it swung between runs more than between builds
/// (docs/benchmarks.md, "Ingest against silos"). The settle time on the idle topic is reported beside the rate.
/// Progress is read from the ingresses' checkpoints, which move once both sides of a batch are stored (see
/// <see cref="IngressCheckpoints"/>); where each ingress runs, from an Orleans client in this process. The silos
/// share the machine's cores with each other and with this process, which hosts the embedded Kafka and produces the
/// workload while they read it (the same work for every silo count): on a 2-core machine this measures what more
/// silos cost (more processes, cross-silo calls, writers taking turns on one database), not a speed-up. Sized for
/// the mock broker's retention like the ingest bench: 600,000 events of ~150 bytes are ~2.8 MB per partition at 32
/// partitions on the ceiling's topic, and ~3.3 MB with the warm-up's 100,000 on the events topic.
/// </remarks>
public static class ScaleRun
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    // Each check asks the directory where every ingress runs, so it is spaced out; the checkpoints are read every 20 ms.
    private static readonly TimeSpan SettleCheckInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Options (defaults): <c>--events</c> 600,000; <c>--warmup</c> 100,000 (events stored before the timed
    /// ones); <c>--silos</c> 1,2,4; <c>--partitions</c> 32;
    /// <c>--storage</c> Sqlite and, when <c>RECO_TEST_POSTGRES</c> names a server, Postgres; <c>--runs</c> 3;
    /// <c>--users</c> 20,000 and <c>--items</c> 5,000 (the workload's); <c>--output</c> bench/results.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var events = BenchArgs.Int(args, "--events", 600_000);
        var warmup = BenchArgs.Int(args, "--warmup", 100_000);
        var runs = BenchArgs.Int(args, "--runs", 3);
        var users = BenchArgs.Int(args, "--users", IngestWorkload.DefaultUsers);
        var items = BenchArgs.Int(args, "--items", IngestWorkload.DefaultItems);
        var silos = BenchArgs.List(args, "--silos", ["1", "2", "4"]).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var partitions = BenchArgs.List(args, "--partitions", ["32"]).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var postgres = Environment.GetEnvironmentVariable("RECO_TEST_POSTGRES");
        var storages = BenchArgs.List(args, "--storage", string.IsNullOrEmpty(postgres) ? ["Sqlite"] : ["Sqlite", "Postgres"]).ToArray();
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        if (events < 1 || warmup < 0 || runs < 1 || users < 1 || items < 1 || silos.Length == 0 || silos.Any(s => s < 1) || partitions.Length == 0 || partitions.Any(p => p < 1))
        {
            Console.Error.WriteLine("scale: need --events ≥ 1, --warmup ≥ 0, --runs ≥ 1, --users ≥ 1, --items ≥ 1, and silo and partition counts ≥ 1");
            return 2;
        }

        if (storages.Length == 0 || storages.Any(s => s is not ("Sqlite" or "Postgres")))
        {
            Console.Error.WriteLine($"scale: --storage takes Sqlite, Postgres or both (comma-separated), not '{string.Join(',', storages)}'");
            return 2;
        }

        if (storages.Contains("Postgres") && string.IsNullOrEmpty(postgres))
        {
            Console.Error.WriteLine("scale: --storage Postgres needs a server in RECO_TEST_POSTGRES (`./reco bench scale` starts one)");
            return 2;
        }

        var loadAtStart = MachineInfo.LoadAverage();
        Console.WriteLine($"scale: {events:N0} events after {warmup:N0} of warm-up, silos {string.Join(',', silos)}, partitions {string.Join(',', partitions)}, storage {string.Join(',', storages)}, {runs} runs, a process per silo, {Environment.ProcessorCount} cores");
        var results = new List<ScaleRunResult>();
        // Runs outermost, so that a burst of load from elsewhere hits one run of every configuration rather than
        // every run of one.
        for (var run = 1; run <= runs; run++)
        {
            foreach (var storage in storages)
            {
                foreach (var p in partitions)
                {
                    foreach (var s in silos)
                    {
                        var result = await OneRunAsync(run, events, warmup, storage, postgres, p, s, users, items);
                        results.Add(result);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  run {run} {storage,-8} partitions {p,2} silos {s}: bare {result.BareEventsPerSecond,9:N0} ev/s; silos {result.EventsPerSecond,8:N0} ev/s ({result.EventsPerSecond / result.BareEventsPerSecond:P1}); {result.CpuMicrosecondsPerEvent:0.0} µs CPU/event, cores {result.CoresBusy:P0} busy; produced in {result.ProduceSeconds:0.0} s; largest silo's peak resident memory {result.PeakSiloResidentMegabytes:N0} MiB; settled {result.SettleSeconds:0.0} s after start; partitions per silo {string.Join('/', result.PartitionsPerSilo)}"));
                    }
                }
            }
        }

        var summary = results.GroupBy(r => (r.Storage, r.Partitions, r.Silos)).Select(g => new ScaleSummaryRow(
            g.Key.Storage,
            g.Key.Partitions,
            g.Key.Silos,
            g.Count(),
            BenchArgs.Median(g.Select(r => r.BareEventsPerSecond)),
            BenchArgs.Median(g.Select(r => r.EventsPerSecond)),
            BenchArgs.Median(g.Select(r => r.EventsPerSecond / r.BareEventsPerSecond)),
            BenchArgs.Median(g.Select(r => r.CpuMicrosecondsPerEvent)),
            BenchArgs.Median(g.Select(r => r.CoresBusy)),
            BenchArgs.Median(g.Select(r => r.SettleSeconds)),
            BenchArgs.Median(g.Select(r => r.PeakSiloResidentMegabytes ?? 0)))).ToList();
        var command = BenchArgs.Command("scale", [
            "--events", events.ToString(CultureInfo.InvariantCulture), "--warmup", warmup.ToString(CultureInfo.InvariantCulture), "--silos", string.Join(',', silos),
            "--partitions", string.Join(',', partitions), "--storage", string.Join(',', storages), "--runs", runs.ToString(CultureInfo.InvariantCulture),
            "--users", users.ToString(CultureInfo.InvariantCulture), "--items", items.ToString(CultureInfo.InvariantCulture)]);
        var file = new ScaleResults("scale", DateTimeOffset.UtcNow, command, MachineInfo.Current(), new LoadAverages(loadAtStart, MachineInfo.LoadAverage()),
            new ScaleSettings(events, warmup, runs, silos, partitions, storages, nameof(OrleansClustering.Localhost), users, items), summary, results);
        return await BenchOutput.WriteAsync("scale", output, ScaleResults.FileName, file, ScaleResults.Json, ScaleTables.Markdown(file));
    }

    private static async Task<ScaleRunResult> OneRunAsync(int run, int count, int warmup, string storage, string? postgres, int partitions, int siloCount, int users, int items)
    {
        using var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"s{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, partitions);
        // The ceiling reads the same workload from a topic the silos do not read, before they start.
        var ceilingTopic = $"{topics.Prefix}-ceiling";
        kafka.CreateTopic(ceilingTopic, partitions);
        await IngestRun.ProduceAsync(kafka.BootstrapServers, ceilingTopic, count, seed: run, first: warmup, users, items);
        var (bare, _) = IngestRun.BareConsume(kafka.BootstrapServers, ceilingTopic, count);

        // A directory of its own, deleted whole (see IngestRun); on PostgreSQL a fresh database.
        var dataDir = Directory.CreateTempSubdirectory("reco-bench-scale-");
        var connection = storage == "Sqlite" ? $"Data Source={Path.Combine(dataDir.FullName, "reco.db")}" : await IngestRun.FreshPostgresDatabaseAsync(postgres!);
        var checkpoints = IngressCheckpoints.Open(storage, connection);
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
                var config = BenchSiloConfig.For(kafka.BootstrapServers, topics, storage, connection);
                BenchSiloConfig.SetSiloPorts(config, ports[2 * i], ports[(2 * i) + 1], primarySiloPort: ports[0]);
                return config;
            }).ToList();
            var started = Stopwatch.StartNew();
            silos.AddRange(configs.Select((c, i) => SiloProcess.Start($"silo-{i + 1}", c)));
            connected = ConnectAsync(configs[0], connecting.Token);
            var (settled, perSilo) = await SettleAsync(connected, silos, partitions, started, connecting.Token);

            // The warm-up: the stream's first events, stored before the timed ones are produced. A silo process
            // compiles its hot paths in its first seconds of work, and S processes compile them S times: with a cold
            // start timed, the figure would be how long the JIT takes on a busy machine, not what S silos sustain.
            if (warmup > 0)
            {
                var warming = Stopwatch.StartNew();
                await StoredAsync(checkpoints, IngestRun.ProduceAsync(kafka.BootstrapServers, topics.Events, warmup, seed: run, users: users, items: items), silos, warmup, warming);
            }

            var cpuAtStart = Cpu(silos);
            var clock = Stopwatch.StartNew();
            var produce = IngestRun.ProduceAsync(kafka.BootstrapServers, topics.Events, count, seed: run, first: warmup, users, items);
            var stored = await StoredAsync(checkpoints, produce, silos, warmup + count, clock);
            var cpu = Cpu(silos) - cpuAtStart;
            var peakResident = silos.Max(s => s.PeakResidentBytes);
            return new ScaleRunResult(
                run,
                storage,
                partitions,
                siloCount,
                count / bare.TotalSeconds,
                count / stored.Done.TotalSeconds,
                stored.Produced.TotalSeconds,
                settled.TotalSeconds,
                cpu.TotalMicroseconds / count,
                cpu / (stored.Done * Environment.ProcessorCount),
                perSilo,
                Math.Round(peakResident / 1_048_576.0));
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

    /// <summary>Polls the checkpoints every 20 ms, while <paramref name="produce"/> writes the workload, until
    /// <paramref name="count"/> events in all are stored on both sides. Returns when the producer had every event
    /// acknowledged and when the last was stored, both on <paramref name="clock"/>.</summary>
    private static async Task<(TimeSpan Produced, TimeSpan Done)> StoredAsync(IngressCheckpoints checkpoints, Task produce, IReadOnlyList<SiloProcess> silos, int count, Stopwatch clock)
    {
        TimeSpan? produced = null;
        while (true)
        {
            ThrowIfExited(silos);
            if (produce.IsCompleted)
            {
                await produce;
                produced ??= clock.Elapsed;
            }

            var (_, stored, _) = await checkpoints.ReadAsync();
            if (stored >= count && produced is { } p)
            {
                return (p, clock.Elapsed);
            }

            if (clock.Elapsed > Deadline)
            {
                throw new TimeoutException($"{silos.Count} silo(s) stored {stored:N0} of {count:N0} events in {Deadline}; the first silo's last output:\n{silos[0].Tail()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Checks every <see cref="SettleCheckInterval"/> whether every silo is an active member and every
    /// partition's ingress runs on its home among them (<see cref="PartitionSpreadPlacement"/>), so that nothing is
    /// left to move. Returns when it was first seen so on <paramref name="clock"/>, and the partitions each silo
    /// reads, in the order of <paramref name="silos"/>.</summary>
    private static async Task<(TimeSpan At, int[] PerSilo)> SettleAsync(Task<IHost> client, IReadOnlyList<SiloProcess> silos, int partitions, Stopwatch clock, CancellationToken ct)
    {
        var grains = (await client.WaitAsync(ct)).Services.GetRequiredService<IClusterClient>();
        var management = grains.GetGrain<IManagementGrain>(0);
        var ingresses = Enumerable.Range(0, partitions).Select(p => grains.GetGrain<IPartitionIngressGrain>(p)).ToArray();
        while (true)
        {
            ThrowIfExited(silos);
            if (clock.Elapsed > Deadline)
            {
                throw new TimeoutException($"{silos.Count} silo(s) did not settle in {Deadline}; the first silo's last output:\n{silos[0].Tail()}");
            }

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
                        // The directory's view may lag behind a move; the ingresses' own reports settle it (asking one
                        // that is at home changes nothing).
                        var statuses = await Task.WhenAll(ingresses.Select(i => i.EnsureRunningAsync()));
                        if (statuses.All(s => s.Silo == homes[s.Partition].ToString()))
                        {
                            return (at, [.. silos.Select(s => homes.Count(home => home.Equals(hosts[s.Name])))]);
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

    // The CPU time of the silo processes and of this one (the embedded Kafka, the producer, the polling), which
    // share the machine: what the run cost, whichever process paid it.
    private static TimeSpan Cpu(IEnumerable<SiloProcess> silos) => Environment.CpuUsage.TotalTime + silos.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.CpuTime);

    private static void ThrowIfExited(IReadOnlyList<SiloProcess> silos)
    {
        if (silos.FirstOrDefault(s => s.HasExited) is { } exited)
        {
            throw new InvalidOperationException($"{exited.Name} exited during the run; its last output:\n{exited.Tail()}");
        }
    }
}
