using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Confluent.Kafka;
using RecoCluster.Bench.Queries;
using RecoCluster.Grains.Interfaces;
using static RecoCluster.Bench.BenchText;

namespace RecoCluster.Bench.Freshness;

/// <summary>
/// How long an event takes to change what its user is recommended, on a real cluster in this process (embedded
/// Kafka, one Orleans silo on SQLite, the gateway; <see cref="QueryCluster"/>): preload, one neighborhood round so
/// that neighborhoods exist, light background ingest, then one sample after another. A sample reads a user's list,
/// sends a view of the list's first item, and from the event's acknowledgment polls the list every few
/// milliseconds until the answer shows the event: the item has left the list (items in the window are not
/// recommended) or an entry "because you viewed" it has appeared. Two rounds are timed on the same cluster as
/// well, one before sampling and one after, with the background ingest running.
/// </summary>
/// <remarks>
/// Sample users are the last <c>--samples</c> + <c>--idle-samples</c> users of the population: preloaded like the
/// others, but the background ingest never touches them, so nothing but the sample's own event can change their
/// list (the round timer is off, so no new snapshot arrives while sampling either). Each is used once. After the
/// samples under ingest, the ingest stops, the silo drains its backlog, and the idle samples follow one event at a
/// time, <c>--idle-gap-ms</c> apart: how soon an otherwise idle cluster shows a click, which an ingress waiting on
/// an empty fetch would delay.
/// </remarks>
public static class FreshnessRun
{
    /// <summary>Runs the benchmark. Options (defaults): <c>--samples</c> 300; <c>--via</c> kafka (or http:
    /// <c>POST /v1/events</c>); <c>--users</c> 20,000; <c>--items</c> 2,000; <c>--preload-events</c> 100,000;
    /// <c>--ingest-rate</c> 1,000 events/s; <c>--poll-ms</c> 5; <c>--timeout-ms</c> 10,000 per sample;
    /// <c>--count</c> 10; <c>--min-threads</c> 64; <c>--idle-samples</c> 20 and <c>--idle-gap-ms</c> 1,000 (0 samples:
    /// no idle part); <c>--output</c> bench/results.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var samples = BenchArgs.Int(args, "--samples", 300);
        var via = BenchArgs.String(args, "--via") ?? "kafka";
        var users = BenchArgs.Int(args, "--users", 20_000);
        var items = BenchArgs.Int(args, "--items", 2_000);
        var preload = BenchArgs.Int(args, "--preload-events", 100_000);
        var ingestRate = BenchArgs.Int(args, "--ingest-rate", 1_000);
        var pollMs = BenchArgs.Int(args, "--poll-ms", 5);
        var timeoutMs = BenchArgs.Int(args, "--timeout-ms", 10_000);
        var count = BenchArgs.Int(args, "--count", 10);
        var minThreads = BenchArgs.Int(args, "--min-threads", 64);
        var idleSamples = BenchArgs.Int(args, "--idle-samples", 20);
        var idleGapMs = BenchArgs.Int(args, "--idle-gap-ms", 1_000);
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        if (samples < 1 || idleSamples < 0 || idleGapMs < 0 || 2 * (samples + idleSamples) > users || via is not ("kafka" or "http") || preload < users || pollMs < 1 || timeoutMs < 1 || count is < 1 or > RecommendationRequests.MaxCount || ingestRate < 0)
        {
            Console.Error.WriteLine($"freshness: need 1 ≤ --samples, 0 ≤ --idle-samples, --samples + --idle-samples ≤ --users / 2, --idle-gap-ms ≥ 0, --via kafka or http, --preload-events ≥ --users, --poll-ms ≥ 1, --timeout-ms ≥ 1, 1 ≤ --count ≤ {RecommendationRequests.MaxCount}, --ingest-rate ≥ 0");
            return 2;
        }

        var command = BenchArgs.Command("freshness", [
            "--samples", Invariant(samples), "--via", via, "--users", Invariant(users), "--items", Invariant(items), "--preload-events", Invariant(preload),
            "--ingest-rate", Invariant(ingestRate), "--poll-ms", Invariant(pollMs), "--timeout-ms", Invariant(timeoutMs), "--count", Invariant(count), "--min-threads", Invariant(minThreads),
            "--idle-samples", Invariant(idleSamples), "--idle-gap-ms", Invariant(idleGapMs)]);
        var machine = MachineInfo.Current();
        var loadAtStart = MachineInfo.LoadAverage();
        Console.WriteLine($"freshness: {command}");
        Console.WriteLine($"freshness: {machine}, load average {loadAtStart}");

        // As in the query bench: the silo's grain turns run on this process's thread pool, and with the default
        // minimum they starve Kestrel and this client, which in production run elsewhere.
        ThreadPool.GetMinThreads(out var workersBefore, out var ioBefore);
        if (minThreads > 0)
        {
            ThreadPool.SetMinThreads(minThreads, Math.Max(ioBefore, minThreads));
        }

        try
        {
            var settings = new FreshnessSettings(samples, via, users, items, preload, ingestRate, pollMs, timeoutMs, count, minThreads, IdleSamples: idleSamples, IdleGapMs: idleGapMs);
            var (summary, rebuilds, ingest, measured, idle, idleMeasured) = await MeasureAsync(settings);
            var results = new FreshnessResults(
                "freshness",
                DateTimeOffset.UtcNow,
                command,
                machine,
                new LoadAverages(loadAtStart, MachineInfo.LoadAverage()),
                settings,
                summary,
                rebuilds,
                ingest,
                measured,
                idle,
                idleMeasured);
            return await BenchOutput.WriteAsync("freshness", output, FreshnessResults.FileName, results, FreshnessResults.Json, FreshnessTables.Markdown(results));
        }
        finally
        {
            ThreadPool.SetMinThreads(workersBefore, ioBefore);
        }
    }

    private static async Task<(FreshnessSummary Summary, List<RebuildMeasurement> Rebuilds, IngestMeasurement Ingest, List<FreshnessSample> Samples, FreshnessSummary? Idle, List<FreshnessSample>? IdleSamples)> MeasureAsync(FreshnessSettings s)
    {
        var setup = Stopwatch.StartNew();
        // Rounds on request only: the timed rebuilds are then one round each, and no new snapshot changes a
        // sample user's list while it is watched. A cluster with the default timer (60 s) also spends a round's
        // CPU every minute.
        var config = new Dictionary<string, string?> { ["Reco:Neighborhoods:RoundIntervalSeconds"] = "0" };
        await using var cluster = await QueryCluster.StartAsync(config);
        await cluster.PreloadAsync(new Workload(s.Users, s.Items), s.PreloadEvents, seed: 1, deadline: TimeSpan.FromMinutes(10));
        Console.WriteLine($"  cluster up and {s.PreloadEvents:N0} events stored in {setup.Elapsed.TotalSeconds:N1} s");

        using var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        using var http = new HttpClient(handler) { BaseAddress = cluster.GatewayAddress, Timeout = TimeSpan.FromMinutes(3) };
        var rebuilds = new List<RebuildMeasurement> { await RebuildAsync(http, "after the preload, nothing else running") };
        Console.WriteLine($"  rebuild: {rebuilds[0].WallSeconds:N2} s (round {rebuilds[0].RoundSeconds:N2} s), version {rebuilds[0].Version}");

        // The background ingest draws from every user but the sample users (the idle samples' come last).
        var firstSampleUser = s.Users - s.Samples - s.IdleSamples;
        using var ingest = new SteadyIngest(cluster.BootstrapServers, cluster.Topics.Events, new Workload(firstSampleUser, s.Items), s.IngestRate, firstSequence: s.PreloadEvents);
        var storedBefore = await cluster.StoredEventsAsync();
        var ingestClock = Stopwatch.StartNew();
        ingest.Start();
        // Let the ingest settle into its rate before the first sample.
        await Task.Delay(TimeSpan.FromSeconds(1));

        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            // Sent at once: a linger would only add to "send → visible" and tell nothing about the cluster.
            LingerMs = 0,
            Partitioner = Partitioner.Murmur2Random,
        }).Build();
        // The first delivery waits for the producer's connection and the topic's metadata (a second or so here):
        // a one-time cost that would land on the first sample. A user outside the population takes it.
        await SendAsync(http, producer, cluster.Topics.Events, s.Via, new ClickEvent("freshness-warmup", Workload.ItemId(0), EventType.View, DateTimeOffset.UtcNow));
        var random = new Random(20261128);
        var measured = new List<FreshnessSample>(s.Samples);
        var polls = new List<long>();
        double cpu;
        using (var load = ProcessLoad.Start())
        {
            for (var k = 0; k < s.Samples; k++)
            {
                var user = Workload.UserId(firstSampleUser + k);
                measured.Add(await SampleAsync(http, producer, cluster.Topics.Events, user, s, polls));
                if ((k + 1) % 50 == 0)
                {
                    var done = measured.Where(m => m.FromAckMs is not null).Select(m => m.FromAckMs!.Value).Order().ToList();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {k + 1} samples; median so far {(done.Count > 0 ? done[done.Count / 2] : double.NaN):N1} ms"));
                }

                // A random gap, so that samples do not line up with anything periodic in the silo (its ingresses'
                // polls and fetch waits).
                await Task.Delay(random.Next(20, 100));
            }

            cpu = load.CpuPercent();
        }

        rebuilds.Add(await RebuildAsync(http, $"after sampling, background ingest at {s.IngestRate:N0} events/s"));
        Console.WriteLine($"  rebuild: {rebuilds[1].WallSeconds:N2} s (round {rebuilds[1].RoundSeconds:N2} s), version {rebuilds[1].Version}");

        var ingestMeasured = ingest.Stop();
        var elapsed = ingestClock.Elapsed.TotalSeconds;
        var stored = await cluster.StoredEventsAsync();
        ingestMeasured = ingestMeasured with
        {
            SiloAppliedEventsPerSecond = (stored - storedBefore) / elapsed,
            // The sample events (and the warm-up event) are stored too; they are not part of the background
            // ingest's backlog.
            SiloBacklogAtEnd = Math.Max(0, s.PreloadEvents + ingestMeasured.Delivered + 1 + measured.Count(m => m.Outcome != "skipped") - stored),
        };

        var summary = Summarize(measured, polls, cpu);
        if (s.IdleSamples == 0)
        {
            return (summary, rebuilds, ingestMeasured, measured, null, null);
        }

        // Idle: nothing but the samples' own events from here. Every event sent so far is stored first, so that
        // no backlog is left to keep an ingress's fetches busy.
        var expected = stored + ingestMeasured.SiloBacklogAtEnd;
        var drain = Stopwatch.StartNew();
        while ((stored = await cluster.StoredEventsAsync()) < expected)
        {
            if (drain.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new InvalidOperationException($"the silo stored {stored:N0} of {expected:N0} events two minutes after the ingest stopped");
            }

            await Task.Delay(50);
        }

        Console.WriteLine($"  ingest stopped, backlog stored in {drain.Elapsed.TotalSeconds:N1} s; {s.IdleSamples} idle samples, {s.IdleGapMs:N0} ms apart");
        var idle = new List<FreshnessSample>(s.IdleSamples);
        var idlePolls = new List<long>();
        double idleCpu;
        using (var load = ProcessLoad.Start())
        {
            for (var k = 0; k < s.IdleSamples; k++)
            {
                var started = Stopwatch.GetTimestamp();
                idle.Add(await SampleAsync(http, producer, cluster.Topics.Events, Workload.UserId(firstSampleUser + s.Samples + k), s, idlePolls));
                var rest = TimeSpan.FromMilliseconds(s.IdleGapMs) - Stopwatch.GetElapsedTime(started);
                if (rest > TimeSpan.Zero && k + 1 < s.IdleSamples)
                {
                    await Task.Delay(rest);
                }
            }

            idleCpu = load.CpuPercent();
        }

        return (summary, rebuilds, ingestMeasured, measured, Summarize(idle, idlePolls, idleCpu), idle);
    }

    private static FreshnessSummary Summarize(List<FreshnessSample> measured, List<long> polls, double cpu)
    {
        var seen = measured.Where(m => m.FromAckMs is not null).ToList();
        return new FreshnessSummary(
            LatencySummary.FromTicks([.. seen.Select(m => MsToTicks(m.FromAckMs!.Value))]),
            LatencySummary.FromTicks([.. seen.Select(m => MsToTicks(m.FromSendMs!.Value))]),
            LatencySummary.FromTicks([.. measured.Where(m => m.Outcome != "skipped").Select(m => MsToTicks(m.ProduceMs))]),
            LatencySummary.FromTicks([.. polls]),
            measured.Count(m => m.Outcome == "timeout"),
            measured.Count(m => m.Outcome == "skipped"),
            measured.Count(m => m.Outcome.Contains("left", StringComparison.Ordinal)),
            measured.Count(m => m.Outcome.Contains("because", StringComparison.Ordinal)),
            cpu);
    }

    private static async Task<FreshnessSample> SampleAsync(HttpClient http, IProducer<string, byte[]> producer, string topic, string user, FreshnessSettings s, List<long> polls)
    {
        var path = new Uri($"/v1/users/{user}/recommendations?count={s.Count}", UriKind.Relative);
        var before = await ListAsync(http, path) ?? throw new InvalidOperationException($"GET {path} failed before the sample's event");
        if (before.Items.Count == 0)
        {
            return new FreshnessSample(user, "", "skipped", null, null, 0, 0);
        }

        if (before.SnapshotVersion < 1)
        {
            throw new InvalidOperationException($"{user}'s list comes from snapshot version {before.SnapshotVersion}: the rebuild did not take");
        }

        var item = before.Items[0].ItemId;
        var evt = new ClickEvent(user, item, EventType.View, DateTimeOffset.UtcNow);
        var sent = Stopwatch.GetTimestamp();
        await SendAsync(http, producer, topic, s.Via, evt);
        var acknowledged = Stopwatch.GetTimestamp();
        var produceMs = LatencySummary.TicksToMs(acknowledged - sent);
        var timeout = s.TimeoutMs * Stopwatch.Frequency / 1000;
        var interval = s.PollIntervalMs * Stopwatch.Frequency / 1000;
        var made = 0;
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            var list = await ListAsync(http, path);
            var answered = Stopwatch.GetTimestamp();
            made++;
            polls.Add(answered - started);
            if (list is not null)
            {
                var left = !list.Items.Any(i => i.ItemId == item);
                var because = list.Items.Any(i => i.BecauseOf == item);
                if (left || because)
                {
                    var outcome = left && because ? "left+because" : left ? "left" : "because";
                    return new FreshnessSample(user, item, outcome, LatencySummary.TicksToMs(answered - acknowledged), LatencySummary.TicksToMs(answered - sent), produceMs, made);
                }
            }

            if (answered - acknowledged > timeout)
            {
                return new FreshnessSample(user, item, "timeout", null, null, produceMs, made);
            }

            var wait = started + interval - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
            }
        }
    }

    /// <summary>Sends one event and returns once it is acknowledged: by Kafka (acks=all), or by the gateway's
    /// 202, which it answers once Kafka has the event.</summary>
    private static async Task SendAsync(HttpClient http, IProducer<string, byte[]> producer, string topic, string via, ClickEvent evt)
    {
        if (via == "kafka")
        {
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = evt.UserId, Value = EventSchema.ToUtf8(evt) });
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/events", UriKind.Relative))
        {
            Content = new ByteArrayContent(EventSchema.ToUtf8(evt)) { Headers = { { "Content-Type", "application/json" } } },
        };
        request.Headers.Add("X-Api-Key", QueryCluster.IngestKey);
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /v1/events answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    // The list, or null when the answer was not a 200 (counted as a poll that saw nothing; the next one retries).
    private static async Task<UserList?> ListAsync(HttpClient http, Uri path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Api-Key", QueryCluster.ReadKey);
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return null;
        }

        return JsonSerializer.Deserialize<UserList>(await response.Content.ReadAsStreamAsync(), JsonSerializerOptions.Web);
    }

    private static async Task<RebuildMeasurement> RebuildAsync(HttpClient http, string when)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/admin/neighborhoods/rebuild", UriKind.Relative));
        request.Headers.Add("X-Api-Key", QueryCluster.AdminKey);
        var clock = Stopwatch.StartNew();
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var wall = clock.Elapsed.TotalSeconds;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"POST /v1/admin/neighborhoods/rebuild answered {(int)response.StatusCode}: {body}");
        }

        var round = JsonSerializer.Deserialize<RebuildResult>(body, JsonSerializerOptions.Web)!;
        return new RebuildMeasurement(when, Math.Round(wall, 3), Math.Round((round.CompletedAt - round.StartedAt).TotalSeconds, 3), round.Version, round.Partitions);
    }

    private static long MsToTicks(double ms) => (long)Math.Round(ms * Stopwatch.Frequency / 1000);

    private sealed record UserList(long SnapshotVersion, IReadOnlyList<ListItem> Items);

    private sealed record ListItem(string ItemId, string? BecauseOf);
}
