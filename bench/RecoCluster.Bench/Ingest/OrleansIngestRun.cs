using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RecoCluster.Cluster;
using RecoCluster.Silo.Hosting;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Bench.Ingest;

/// <summary>
/// <c>./reco bench ingest-orleans</c>: the Orleans path's end-to-end ingest (issue 14, step 1). One Orleans silo in
/// this process (localhost clustering, the project's grains, group-commit storage and partition ingresses) applies
/// a topic of events; timed from the first batch checkpointed to the last, when every event is stored on both the
/// user and the item side. The ceiling is a bare consumer reading the same topic in the same run.
/// </summary>
public static class OrleansIngestRun
{
    private const int Partitions = 8;

    /// <summary>Arguments: <c>--events N</c> (200,000), <c>--runs R</c> (3), <c>--output DIR</c> (bench/results).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var events = BenchArgs.Int(args, "--events", 200_000);
        var runs = BenchArgs.Int(args, "--runs", 3);
        var postgres = Environment.GetEnvironmentVariable("RECO_TEST_POSTGRES");
        var providers = string.IsNullOrEmpty(postgres) ? new[] { "Sqlite" } : ["Sqlite", "Postgres"];
        Console.WriteLine($"ingest-orleans: {events:N0} events, {runs} runs, storage {string.Join(" and ", providers)}, {Environment.ProcessorCount} cores");
        var results = new List<(int Run, string Provider, double Bare, double Orleans)>();
        for (var run = 1; run <= runs; run++)
        {
            foreach (var provider in providers)
            {
                var (bare, orleans) = await OneRunAsync(run, events, provider, postgres);
                results.Add((run, provider, bare, orleans));
                Console.WriteLine($"  run {run} {provider,-8}: bare consumer {bare,9:N0} ev/s; Orleans silo, both sides stored {orleans,9:N0} ev/s ({orleans / bare:P1} of bare)");
            }
        }

        Console.WriteLine();
        Console.WriteLine("| storage | bare consumer (ev/s) | Orleans silo, both sides stored (ev/s) | ratio |");
        Console.WriteLine("|---|---:|---:|---:|");
        var summary = providers.Select(p =>
        {
            var mine = results.Where(r => r.Provider == p).ToList();
            return new
            {
                provider = p,
                medianBareEventsPerSecond = BenchArgs.Median(mine.Select(r => r.Bare)),
                medianOrleansEventsPerSecond = BenchArgs.Median(mine.Select(r => r.Orleans)),
                medianRatio = BenchArgs.Median(mine.Select(r => r.Orleans / r.Bare)),
            };
        }).ToList();
        foreach (var s in summary)
        {
            Console.WriteLine($"| {s.provider} | {s.medianBareEventsPerSecond:N0} | {s.medianOrleansEventsPerSecond:N0} | {s.medianRatio:P1} |");
        }

        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        Directory.CreateDirectory(output);
        var file = Path.Combine(output, "ingest-orleans.json");
        var command = BenchArgs.Command("ingest-orleans", ["--events", events.ToString(CultureInfo.InvariantCulture), "--runs", runs.ToString(CultureInfo.InvariantCulture)]);
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(
            new { benchmark = "ingest-orleans", date = DateTimeOffset.UtcNow, command, machine = MachineInfo.Current(), events, summary, results = results.Select(r => new { r.Run, r.Provider, r.Bare, r.Orleans }) },
            new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"ingest-orleans: results in {file}");
        return 0;
    }

    private static async Task<(double Bare, double Orleans)> OneRunAsync(int run, int count, string provider, string? postgres)
    {
        using var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"b{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, Partitions);
        await IngestRun.ProduceAsync(kafka.BootstrapServers, topics.Events, count, seed: run);
        var bare = IngestRun.BareConsume(kafka.BootstrapServers, topics.Events, count);

        var dbFile = Path.Combine(Path.GetTempPath(), $"reco-bench-{Guid.NewGuid():N}.db");
        var connection = provider == "Sqlite" ? $"Data Source={dbFile}" : await IngestRun.FreshPostgresDatabaseAsync(postgres!);
        var settings = BenchSiloConfig.For(kafka.BootstrapServers, topics, provider, connection);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort())
            .AddRecoGrains(builder.Configuration));
        using var host = builder.Build();
        var total = Stopwatch.StartNew();
        await host.StartAsync();

        await using var store = GrainStore.Open(new StorageOptions { Provider = provider, ConnectionString = connection });
        var clock = new Stopwatch();
        while (true)
        {
            await Task.Delay(20);
            var checkpoints = await store.ReadIngressCheckpointsAsync(CancellationToken.None);
            var stored = checkpoints.Values.Sum(c => Math.Max(0, c.NextOffset));
            if (!clock.IsRunning && stored > 0)
            {
                clock.Start();
            }

            if (stored >= count)
            {
                break;
            }

            if (total.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"the Orleans silo stored {stored:N0} of {count:N0} events in 10 minutes");
            }
        }

        var elapsed = clock.Elapsed;
        await host.StopAsync();
        if (File.Exists(dbFile))
        {
            File.Delete(dbFile);
        }

        return (count / bare.TotalSeconds, count / elapsed.TotalSeconds);
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
