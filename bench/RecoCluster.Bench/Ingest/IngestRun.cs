using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using RecoCluster.Cluster;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Host;

namespace RecoCluster.Bench.Ingest;

/// <summary>
/// End-to-end ingest against its ceiling, measured in the same run: N events are produced to the embedded Kafka,
/// then (1) a bare consumer reads them, (2) one Orleans silo in this process (the host's, as <c>./reco silo</c>
/// builds it: partition ingresses holding their users, item shards, their storage) applies them until every event is
/// stored on both the user and the item side. Each run uses fresh topics and a fresh database; the report gives
/// every run and the median.
/// </summary>
/// <remarks>
/// Sized for the mock broker, which keeps only about 5 MB per partition: 200,000 events of ~150 bytes over 8
/// partitions stay well inside it, so nothing is dropped before the silo reads it (the run checks the count).
/// </remarks>
public static class IngestRun
{

    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    /// <summary>Runs the benchmark. Arguments: <c>--events N</c> (200,000), <c>--runs R</c> (3), <c>--output DIR</c>
    /// (bench/results).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var events = BenchArgs.Int(args, "--events", 200_000);
        var runs = BenchArgs.Int(args, "--runs", 3);
        // The mock broker keeps about 5 MB per partition (~30,000 of these events): more events need more partitions.
        var partitions = BenchArgs.Int(args, "--partitions", 8);
        if (events < 1 || runs < 1 || partitions < 1 || (long)events * 160 > partitions * 5_000_000L)
        {
            Console.Error.WriteLine("ingest: need --events ≥ 1, --runs ≥ 1, --partitions ≥ 1, and at most about 30,000 events per partition (the embedded Kafka keeps 5 MB of each)");
            return 2;
        }

        var postgres = Environment.GetEnvironmentVariable("RECO_TEST_POSTGRES");
        var providers = string.IsNullOrEmpty(postgres) ? new[] { "Sqlite" } : ["Sqlite", "Postgres"];
        Console.WriteLine($"ingest: {events:N0} events, {runs} runs, storage {string.Join(" and ", providers)}, {Environment.ProcessorCount} cores");

        var results = new List<RunResult>();
        for (var run = 1; run <= runs; run++)
        {
            foreach (var provider in providers)
            {
                var result = await OneRunAsync(run, events, partitions, provider, postgres);
                results.Add(result);
                Console.WriteLine($"  run {run} {provider,-8}: bare consumer {result.BareEventsPerSecond,9:N0} ev/s; silo, user side stored {result.UserSideEventsPerSecond,9:N0} ev/s, both sides {result.StoredEventsPerSecond,9:N0} ev/s ({result.StoredEventsPerSecond / result.BareEventsPerSecond:P1} of bare), second half {Rate(result.SecondHalfEventsPerSecond),9} ev/s; CPU per event: bare {result.BareCpuMicrosecondsPerEvent:N1} µs, silo {result.SiloCpuMicrosecondsPerEvent:N1} µs; allocated {result.AllocatedBytesPerEvent:N0} B per event, collections {string.Join(" / ", result.Collections)}; first batch stored after {result.FirstStoredSeconds:N2} s, quarters at {string.Join(" / ", result.QuarterSeconds.Select(q => q.ToString("N2", CultureInfo.InvariantCulture)))} s; stored {result.StoredBytesPerEvent.Values.Sum():N0} B per event ({string.Join(", ", result.StoredBytesPerEvent.Select(p => $"{p.Key} {p.Value:N0}"))})");
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
                medianStoredEventsPerSecond = BenchArgs.Median(mine.Select(r => r.StoredEventsPerSecond)),
                medianStoredRatio = BenchArgs.Median(mine.Select(r => r.StoredEventsPerSecond / r.BareEventsPerSecond)),
                medianUserSideEventsPerSecond = BenchArgs.Median(mine.Select(r => r.UserSideEventsPerSecond)),
                medianUserSideRatio = BenchArgs.Median(mine.Select(r => r.UserSideEventsPerSecond / r.BareEventsPerSecond)),
                // Per run, then the median: how far the item side is behind the user side, the issue's "within 20 %".
                medianItemSideOfUserSide = BenchArgs.Median(mine.Select(r => r.StoredEventsPerSecond / r.UserSideEventsPerSecond)),
                medianStoredBytesPerEvent = BenchArgs.Median(mine.Select(r => r.StoredBytesPerEvent.Values.Sum())),
                // CPU time of the whole process (the embedded broker included) per event, over each one's timed
                // stretch: what the work costs, where a rate also counts the time spent waiting for a core.
                medianBareCpuMicrosecondsPerEvent = BenchArgs.Median(mine.Select(r => r.BareCpuMicrosecondsPerEvent)),
                medianSiloCpuMicrosecondsPerEvent = BenchArgs.Median(mine.Select(r => r.SiloCpuMicrosecondsPerEvent)),
                medianAllocatedBytesPerEvent = BenchArgs.Median(mine.Select(r => r.AllocatedBytesPerEvent)),
                medianSecondHalfEventsPerSecond = MedianOrNull(mine.Select(r => r.SecondHalfEventsPerSecond)),
                medianSecondHalfRatio = MedianOrNull(mine.Select(r => r.SecondHalfEventsPerSecond / r.BareEventsPerSecond)),
            };
        }).ToList();

        Console.WriteLine();
        Console.WriteLine("| storage | bare consumer (ev/s) | user side stored (ev/s) | ratio | both sides stored (ev/s) | ratio | second half (ev/s) | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in summary)
        {
            Console.WriteLine($"| {s.provider} | {s.medianBareEventsPerSecond:N0} | {s.medianUserSideEventsPerSecond:N0} | {s.medianUserSideRatio:P1} | {s.medianStoredEventsPerSecond:N0} | {s.medianStoredRatio:P1} | {Rate(s.medianSecondHalfEventsPerSecond)} | {Ratio(s.medianSecondHalfRatio)} |");
        }

        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        Directory.CreateDirectory(output);
        var file = Path.Combine(output, "ingest.json");
        // The command and the machine go with the figures: docs/benchmarks.md is generated from this file.
        var command = BenchArgs.Command("ingest", [
            "--events", events.ToString(CultureInfo.InvariantCulture), "--runs", runs.ToString(CultureInfo.InvariantCulture), "--partitions", partitions.ToString(CultureInfo.InvariantCulture)]);
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(
            new { benchmark = "ingest", date = DateTimeOffset.UtcNow, command, machine = MachineInfo.Current(), events, partitions, cores = Environment.ProcessorCount, summary, results },
            new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"ingest: results in {file}");
        return 0;
    }

    private static async Task<RunResult> OneRunAsync(int run, int count, int partitions, string provider, string? postgres)
    {
        using var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"b{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, partitions);
        await ProduceAsync(kafka.BootstrapServers, topics.Events, count, seed: run);

        var bare = BareConsume(kafka.BootstrapServers, topics.Events, count);

        // A directory of its own, deleted whole: pooled connections keep SQLite's write-ahead log and shared-memory
        // files open past the silo's stop, and deleting the database file alone left them behind.
        var dataDir = Directory.CreateTempSubdirectory("reco-bench-ingest-");
        var connection = provider == "Sqlite" ? $"Data Source={Path.Combine(dataDir.FullName, "reco.db")}" : await FreshPostgresDatabaseAsync(postgres!);
        var silo = ClusterHosts.BuildSilo([], BenchSiloConfig.For(kafka.BootstrapServers, topics, provider, connection));
        using var written = new StoredBytes();
        using var allocations = new AllocationTicks();
        try
        {
            await silo.StartAsync();
            await using var checkpoints = IngressCheckpoints.Open(provider, connection);
            var measured = await MeasureAsync(checkpoints, allocations, count);
            // Every write a checkpoint waited for has been counted by the time the checkpoints reach the count.
            var perEvent = written.ByKind.ToDictionary(p => p.Key, p => Math.Round((double)p.Value / count, 1), StringComparer.Ordinal);
            return new RunResult(
                run,
                provider,
                count / bare.Elapsed.TotalSeconds,
                measured.Stored,
                measured.SecondHalf,
                measured.UserSide,
                measured.FirstStoredSeconds,
                measured.QuarterSeconds,
                perEvent,
                MicrosecondsPerEvent(bare.Cpu, count),
                MicrosecondsPerEvent(measured.Cpu, count),
                Math.Round((double)measured.Heap.AllocatedBytes / count),
                measured.Heap.Collections);
        }
        finally
        {
            await silo.StopAsync();
            await silo.DisposeAsync();
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>Polls the checkpoints every 20 ms until all <paramref name="count"/> events are stored on both
    /// sides; returns the rates over the whole run (both sides, and the user side alone) and over its second half,
    /// and when the first batch and each quarter of the events were stored.</summary>
    /// <remarks>
    /// The clock starts when the first ingress has claimed its partition, which it starts reading right away: the
    /// silo's start-up and its wait for Kafka's metadata are not throughput, as the bare consumer's group join is
    /// not. Its first record cannot be timed from outside; the first checkpoint would be too late, with a whole
    /// batch already done. Checkpoints move a batch at a time (up to <c>Reco:Ingress:MaxBatchRecords</c>), so the
    /// second half starts at the first poll that finds half the events stored and counts only what was stored
    /// after it, not exactly half. It is the steady state: by then nearly every user and item of the workload has
    /// had events, so it is in memory (its ingress's or its shard's) and its row exists, where the first half pays
    /// for first touches. The user side is stored a batch ahead of the item side (a batch's users and item side are
    /// stored before the shards get it), so its rate is the ingress's own and the gap between the two is what the
    /// shards add.
    /// </remarks>
    private static async Task<Measured> MeasureAsync(IngressCheckpoints checkpoints, AllocationTicks allocations, int count)
    {
        var total = Stopwatch.StartNew();
        var clock = new Stopwatch();
        var cpuAtStart = TimeSpan.Zero;
        var startedAt = DateTime.MinValue;
        int[] collectionsAtStart = [];
        (TimeSpan At, long Stored)? half = null;
        TimeSpan? userSideDone = null;
        TimeSpan? firstStored = null;
        var quarters = new double?[4];
        while (true)
        {
            var (claimed, stored, userSide) = await checkpoints.ReadAsync();
            if (!clock.IsRunning && claimed > 0)
            {
                clock.Start();
                cpuAtStart = Environment.CpuUsage.TotalTime;
                startedAt = DateTime.UtcNow;
                collectionsAtStart = HeapWork.CollectionsSoFar();
            }

            var now = clock.Elapsed;
            firstStored ??= stored > 0 ? now : null;
            userSideDone ??= userSide >= count ? now : null;
            for (var q = 0; q < quarters.Length; q++)
            {
                quarters[q] ??= stored >= count * (q + 1L) / 4 ? Math.Round(now.TotalSeconds, 3) : null;
            }

            if (half is null && stored >= count / 2)
            {
                half = (now, stored);
            }

            if (stored >= count)
            {
                var cpu = Environment.CpuUsage.TotalTime - cpuAtStart;
                var endedAt = DateTime.UtcNow;
                var collections = HeapWork.CollectionsSoFar();
                var allocated = await allocations.AllocatedBetweenAsync(startedAt, endedAt, patience: TimeSpan.FromSeconds(5));
                var (halfAt, storedAtHalf) = half!.Value;
                // A tiny run (the smoke test's) can store everything between two polls: no window to time, so no
                // figure rather than an infinite one.
                double? secondHalf = storedAtHalf < count && now > halfAt ? (count - storedAtHalf) / (now - halfAt).TotalSeconds : null;
                return new Measured(
                    cpu,
                    new HeapWork(allocated, [.. collections.Select((c, g) => c - collectionsAtStart[g])]),
                    count / now.TotalSeconds,
                    count / userSideDone!.Value.TotalSeconds,
                    secondHalf,
                    Math.Round(firstStored!.Value.TotalSeconds, 3),
                    [.. quarters.Select(q => q!.Value)]);
            }

            if (total.Elapsed > Deadline)
            {
                throw new TimeoutException($"the silo stored {stored:N0} of {count:N0} events on both sides in {Deadline}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Produces <paramref name="count"/> events of the ingest workload (<see cref="IngestWorkload"/>);
    /// <paramref name="seed"/> makes each run's stream, and the events produced
    /// are its numbers <paramref name="first"/> onwards (a warm-up can take the ones before); <paramref name="users"/>
    /// users spread uniformly and <paramref name="items"/> items of Zipf-like popularity.</summary>
    internal static async Task ProduceAsync(string bootstrap, string topic, int count, int seed, int first = 0, int users = IngestWorkload.DefaultUsers, int items = IngestWorkload.DefaultItems)
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
        for (var i = 0; i < first + count; i++)
        {
            var evt = IngestWorkload.Event(random, start, i, users, items);
            if (i < first)
            {
                continue;
            }

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
    // the records, without auto-commit like the silo's readers. They assign themselves their partitions where this
    // one joins a group, which changes only how the partitions are had, and that is not timed.
    internal static (TimeSpan Elapsed, TimeSpan Cpu) BareConsume(string bootstrap, string topic, int count)
    {
        // Timed from the first record: joining the group (seconds on the mock) and the first fetch's round trip are
        // not throughput. The process's CPU time over the same stretch includes the embedded broker serving it.
        var clock = new Stopwatch();
        var cpuAtStart = TimeSpan.Zero;
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
                    cpuAtStart = Environment.CpuUsage.TotalTime;
                }
            }
        }

        var elapsed = clock.Elapsed;
        var cpu = Environment.CpuUsage.TotalTime - cpuAtStart;
        consumer.Close();
        return (elapsed, cpu);
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

    private static string Rate(double? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "n/a";

    private static string Ratio(double? value) => value is { } v ? v.ToString("P1", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>One run's figures.</summary>
    /// <param name="Run">The run's number, from 1.</param>
    /// <param name="Provider">The storage provider.</param>
    /// <param name="BareEventsPerSecond">The bare consumer of the same topic, the ceiling.</param>
    /// <param name="StoredEventsPerSecond">Events over the time until every one was stored on both sides.</param>
    /// <param name="SecondHalfEventsPerSecond">The same from the poll that found half of them stored (null when
    /// no poll fell inside the run).</param>
    /// <param name="UserSideEventsPerSecond">Events over the time until every one was stored on the user side.</param>
    /// <param name="FirstStoredSeconds">From the first claim until a first batch was stored on both sides.</param>
    /// <param name="QuarterSeconds">From the first claim until a quarter, a half, three quarters and all of the
    /// events were stored on both sides.</param>
    /// <param name="StoredBytesPerEvent">Payload bytes the silo stored per event, by kind (user, item_side, item,
    /// item_log; <see cref="StoredBytes"/>).</param>
    /// <param name="BareCpuMicrosecondsPerEvent">The process's CPU time per event while the bare consumer read, from
    /// its first record to its last (the embedded broker included).</param>
    /// <param name="SiloCpuMicrosecondsPerEvent">The same for the silo, from the first claim to the last event
    /// stored on both sides (the broker, and the bench's polls of the checkpoints, included).</param>
    /// <param name="AllocatedBytesPerEvent">Bytes the process allocated on the managed heap over the silo's timed
    /// stretch, per event (the bench's own polls included, a few hundred bytes each).</param>
    /// <param name="Collections">Garbage collections over the same stretch, by generation (0, 1, 2).</param>
    private sealed record RunResult(
        int Run,
        string Provider,
        double BareEventsPerSecond,
        double StoredEventsPerSecond,
        double? SecondHalfEventsPerSecond,
        double UserSideEventsPerSecond,
        double FirstStoredSeconds,
        double[] QuarterSeconds,
        IReadOnlyDictionary<string, double> StoredBytesPerEvent,
        double BareCpuMicrosecondsPerEvent,
        double SiloCpuMicrosecondsPerEvent,
        double AllocatedBytesPerEvent,
        int[] Collections);

    private sealed record Measured(TimeSpan Cpu, HeapWork Heap, double Stored, double UserSide, double? SecondHalf, double FirstStoredSeconds, double[] QuarterSeconds);

    private static double MicrosecondsPerEvent(TimeSpan cpu, int count) => Math.Round(cpu.TotalMicroseconds / count, 2);
}
