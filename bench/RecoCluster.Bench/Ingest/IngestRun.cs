using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Cluster;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Host;
using RecoCluster.Silo.Runtime;

namespace RecoCluster.Bench.Ingest;

/// <summary>
/// End-to-end ingest against its ceiling, measured in the same run: N events are produced to the embedded Kafka,
/// then (1) a bare consumer reads them, (2) one silo applies them (user grains, shuffle, item grains,
/// checkpoints). Each run uses fresh topics and a fresh database; the report gives every run and the median.
/// </summary>
/// <remarks>
/// Sized for the mock broker, which keeps only about 5 MB per partition: 200,000 events of ~150 bytes over 8
/// partitions stay well inside it, so nothing is dropped before the silo reads it (the run checks the count).
/// </remarks>
public static class IngestRun
{
    private const int Partitions = 8;

    /// <summary>Runs the benchmark. Arguments: <c>--events N</c> (200,000), <c>--runs R</c> (3), <c>--output DIR</c>
    /// (bench/results).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var events = BenchArgs.Int(args, "--events", 200_000);
        var runs = BenchArgs.Int(args, "--runs", 3);
        var postgres = Environment.GetEnvironmentVariable("RECO_TEST_POSTGRES");
        var providers = string.IsNullOrEmpty(postgres) ? new[] { "Sqlite" } : ["Sqlite", "Postgres"];
        Console.WriteLine($"ingest: {events:N0} events, {runs} runs, storage {string.Join(" and ", providers)}, {Environment.ProcessorCount} cores");

        var results = new List<RunResult>();
        for (var run = 1; run <= runs; run++)
        {
            foreach (var provider in providers)
            {
                var result = await OneRunAsync(run, events, provider, postgres);
                results.Add(result);
                Console.WriteLine($"  run {run} {provider,-8}: bare consumer {result.BareEventsPerSecond,9:N0} ev/s; silo user side {result.UserSideEventsPerSecond,9:N0} ev/s ({result.UserSideRatio:P0} of bare), second half {Rate(result.SecondHalfEventsPerSecond),9} ev/s; to item side done {result.AllDoneEventsPerSecond,9:N0} ev/s");
            }
        }

        var summary = providers.Select(p =>
        {
            var mine = results.Where(r => r.Provider == p).ToList();
            return new
            {
                provider = p,
                runs = mine.Count,
                medianBareEventsPerSecond = BenchArgs.Median(mine.Select(r => r.BareEventsPerSecond)),
                medianUserSideEventsPerSecond = BenchArgs.Median(mine.Select(r => r.UserSideEventsPerSecond)),
                medianUserSideRatio = BenchArgs.Median(mine.Select(r => r.UserSideRatio)),
                medianSecondHalfEventsPerSecond = MedianOrNull(mine.Select(r => r.SecondHalfEventsPerSecond)),
                medianSecondHalfRatio = MedianOrNull(mine.Select(r => r.SecondHalfEventsPerSecond / r.BareEventsPerSecond)),
                medianAllDoneEventsPerSecond = BenchArgs.Median(mine.Select(r => r.AllDoneEventsPerSecond)),
                medianAllDoneRatio = BenchArgs.Median(mine.Select(r => r.AllDoneEventsPerSecond / r.BareEventsPerSecond)),
            };
        }).ToList();

        Console.WriteLine();
        Console.WriteLine("| storage | bare consumer (ev/s) | silo, user side applied (ev/s) | ratio | second half (ev/s) | ratio | silo, item side applied too (ev/s) | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in summary)
        {
            Console.WriteLine($"| {s.provider} | {s.medianBareEventsPerSecond:N0} | {s.medianUserSideEventsPerSecond:N0} | {s.medianUserSideRatio:P0} | {Rate(s.medianSecondHalfEventsPerSecond)} | {s.medianSecondHalfRatio:P0} | {s.medianAllDoneEventsPerSecond:N0} | {s.medianAllDoneRatio:P0} |");
        }

        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        Directory.CreateDirectory(output);
        var file = Path.Combine(output, "ingest.json");
        // The command and the machine go with the figures: docs/benchmarks.md is generated from this file.
        var command = BenchArgs.Command("ingest", ["--events", events.ToString(CultureInfo.InvariantCulture), "--runs", runs.ToString(CultureInfo.InvariantCulture)]);
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(
            new { benchmark = "ingest", date = DateTimeOffset.UtcNow, command, machine = MachineInfo.Current(), events, cores = Environment.ProcessorCount, summary, results },
            new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"ingest: results in {file}");
        return 0;
    }

    private static async Task<RunResult> OneRunAsync(int run, int count, string provider, string? postgres)
    {
        using var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"b{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, Partitions);
        await ProduceAsync(kafka.BootstrapServers, topics.Events, count, seed: run);

        var bare = BareConsume(kafka.BootstrapServers, topics.Events, count);

        var dbFile = Path.Combine(Path.GetTempPath(), $"reco-bench-{Guid.NewGuid():N}.db");
        var connection = provider == "Sqlite" ? $"Data Source={dbFile}" : await FreshPostgresDatabaseAsync(postgres!);
        var silo = ClusterHosts.BuildSilo([], BenchSiloConfig.For(kafka.BootstrapServers, topics, provider, connection));
        var total = Stopwatch.StartNew();
        await silo.StartAsync();
        var stats = silo.Services.GetRequiredService<SiloRuntime>().Stats;
        // Timed from the first event applied, like the bare consumer from its first record: start-up, the group
        // join and the first fetch's wait are not throughput.
        var runtime = silo.Services.GetRequiredService<SiloRuntime>();
        var clock = new Stopwatch();
        var deadline = TimeSpan.FromMinutes(10);
        TimeSpan userSide = default;
        TimeSpan half = default;
        TimeSpan allDone;
        var settledSince = TimeSpan.Zero;
        while (true)
        {
            await Task.Delay(20);
            if (!clock.IsRunning && stats.Applied > 0)
            {
                clock.Start();
            }

            if (total.Elapsed > deadline)
            {
                throw new TimeoutException($"the silo applied {stats.Applied:N0} of {count:N0} events in {deadline}");
            }

            // The second half is the steady state: by then nearly every user and item of the workload has had events, so
            // its grains are active and its rows exist, where the first half pays for first touches.
            if (half == default && stats.Applied >= count / 2)
            {
                half = clock.Elapsed;
            }

            if (userSide == default && stats.Applied >= count)
            {
                userSide = clock.Elapsed;
            }

            // The item side is done when every shuffle batch produced so far has been applied or dropped as a
            // re-send, and nothing new appeared for a few checkpoint intervals.
            var itemSideCaughtUp = userSide != default && stats.DeltaBatchesSent > 0
                && stats.DeltaBatchesApplied + stats.DuplicateBatchesDropped >= stats.DeltaBatchesSent;
            if (!itemSideCaughtUp)
            {
                settledSince = TimeSpan.Zero;
                continue;
            }

            if (settledSince == TimeSpan.Zero)
            {
                settledSince = clock.Elapsed;
            }
            else if (clock.Elapsed - settledSince > TimeSpan.FromSeconds(1.5))
            {
                allDone = settledSince;
                break;
            }
        }

        await silo.StopAsync();
        await silo.DisposeAsync();
        if (File.Exists(dbFile))
        {
            File.Delete(dbFile);
        }

        var bareRate = count / bare.TotalSeconds;
        var userRate = count / userSide.TotalSeconds;
        // A tiny run (the smoke test's) can apply its whole second half between two 20 ms polls: no window to
        // time, so no figure rather than an infinite one.
        double? secondHalf = userSide > half ? (count - (count / 2)) / (userSide - half).TotalSeconds : null;
        return new RunResult(run, provider, bareRate, userRate, userRate / bareRate, secondHalf, count / allDone.TotalSeconds);
    }

    /// <summary>Produces <paramref name="count"/> events of the ingest workload (20,000 users, 5,000 items, Zipf-like
    /// item popularity, all four types); <paramref name="seed"/> makes each run's stream.</summary>
    internal static async Task ProduceAsync(string bootstrap, string topic, int count, int seed)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = Partitioner.Murmur2Random,
        }).Build();
        var pending = new List<Task>(10_000);
        for (var i = 0; i < count; i++)
        {
            // 20,000 users and 5,000 items, Zipf-like item popularity.
            var evt = new ClickEvent($"u-{random.Next(20_000)}", $"sku-{(int)(Math.Pow(random.NextDouble(), 2) * 5_000)}", (EventType)random.Next(4), start.AddMilliseconds(i * 50L));
            pending.Add(producer.ProduceAsync(topic, new Message<string, byte[]> { Key = evt.UserId, Value = EventSchema.ToUtf8(evt) }));
            if (pending.Count == pending.Capacity)
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending);
    }

    // The ceiling: a plain consumer-group member reading the same topic from the beginning, doing nothing with
    // the records. Same client settings family as the silo (no auto-commit, cooperative-sticky).
    internal static TimeSpan BareConsume(string bootstrap, string topic, int count)
    {
        // Timed from the first record, like the silo from its first event applied: joining the group (seconds on
        // the mock) and the first fetch's round trip are not throughput.
        var clock = new Stopwatch();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = $"bare-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            // Reading faster than librdkafka fetches, this consumer would fill its prefetch queue to
            // queued.min.messages (100,000 by default), and librdkafka then postpones the next fetch by about
            // 0.8 s: 200,000 records took 180 ms or 1,000 ms from one read to the next, and the ceiling moved
            // between 700k and 175k events/s with it. A silo never drains its queue that fast, so it never pays
            // that pause; the ceiling should not either.
            QueuedMinMessages = 1_000_000,
        }).Build();
        consumer.Subscribe(topic);
        var seen = 0;
        while (seen < count)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(30)) ?? throw new TimeoutException($"the bare consumer saw {seen:N0} of {count:N0} records");
            if (!record.IsPartitionEOF)
            {
                if (seen++ == 0)
                {
                    clock.Start();
                }
            }
        }

        var elapsed = clock.Elapsed;
        consumer.Close();
        return elapsed;
    }

    internal static async Task<string> FreshPostgresDatabaseAsync(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        var name = $"bench_{Guid.NewGuid():N}";
        await using (var admin = new Npgsql.NpgsqlConnection(connectionString))
        {
            await admin.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        builder.Database = name;
        return builder.ConnectionString;
    }

    private static double? MedianOrNull(IEnumerable<double?> values)
    {
        var known = values.OfType<double>().ToList();
        return known.Count == 0 ? null : BenchArgs.Median(known);
    }

    private static string Rate(double? value) => value is { } v ? v.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "n/a";

    private sealed record RunResult(int Run, string Provider, double BareEventsPerSecond, double UserSideEventsPerSecond, double UserSideRatio, double? SecondHalfEventsPerSecond, double AllDoneEventsPerSecond);
}
