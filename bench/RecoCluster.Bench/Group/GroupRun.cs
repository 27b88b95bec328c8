using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RecoCluster.Cluster;

namespace RecoCluster.Bench.Group;

/// <summary>
/// How long a consumer group takes to settle on the embedded Kafka (librdkafka 2.16's mock) after a member joins,
/// leaves gracefully, or is killed with SIGKILL, with the classic protocol (cooperative-sticky, as the silos ran)
/// and with KIP-848 (<c>group.protocol=consumer</c>). Members are processes of their own (<see cref="GroupMember"/>).
/// Settled means: every partition owned by exactly one live member, and every live member owning at least one.
/// </summary>
/// <remarks>
/// Both protocols get the same 6 s session timeout (the silos' setting): classic clients set it, KIP-848's is the
/// broker's, set on the mock. The classic initial rebalance delay stays the broker default (3 s) unless
/// <c>--initial-delay-ms</c> says otherwise.
/// </remarks>
public static class GroupRun
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    /// <summary>Options (defaults): <c>--runs</c> 5; <c>--partitions</c> 8; <c>--session-ms</c> 6000;
    /// <c>--initial-delay-ms</c> 3000; <c>--protocols</c> classic,consumer; <c>--output</c> bench/results.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var runs = BenchArgs.Int(args, "--runs", 5);
        var partitions = BenchArgs.Int(args, "--partitions", 8);
        var sessionMs = BenchArgs.Int(args, "--session-ms", 6_000);
        var initialDelayMs = BenchArgs.Int(args, "--initial-delay-ms", 3_000);
        var protocols = BenchArgs.List(args, "--protocols", ["classic", "consumer"]);
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        var loadAtStart = MachineInfo.LoadAverage();

        var results = new List<GroupRunResult>();
        for (var run = 1; run <= runs; run++)
        {
            foreach (var protocol in protocols)
            {
                var result = await OneRunAsync(protocol, run, partitions, sessionMs, initialDelayMs);
                results.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  run {run} {protocol,-8}: first join {result.FirstJoinSeconds:0.00} s, second member {result.SecondJoinSeconds:0.00} s, graceful leave {result.LeaveSeconds:0.00} s, kill -9 {result.KillSeconds:0.00} s"));
            }
        }

        var summary = results.GroupBy(r => r.Protocol).Select(g => new GroupSummaryRow(
            g.Key,
            g.Count(),
            BenchArgs.Median(g.Select(r => r.FirstJoinSeconds)),
            BenchArgs.Median(g.Select(r => r.SecondJoinSeconds)),
            BenchArgs.Median(g.Select(r => r.LeaveSeconds)),
            BenchArgs.Median(g.Select(r => r.KillSeconds)),
            g.Max(r => Math.Max(Math.Max(r.FirstJoinSeconds, r.SecondJoinSeconds), Math.Max(r.LeaveSeconds, r.KillSeconds))))).ToList();
        var command = BenchArgs.Command("group", [
            "--runs", runs.ToString(CultureInfo.InvariantCulture), "--partitions", partitions.ToString(CultureInfo.InvariantCulture),
            "--session-ms", sessionMs.ToString(CultureInfo.InvariantCulture), "--initial-delay-ms", initialDelayMs.ToString(CultureInfo.InvariantCulture),
            "--protocols", string.Join(',', protocols)]);
        var file = new GroupResults("group", DateTimeOffset.UtcNow, command, MachineInfo.Current(), loadAtStart, MachineInfo.LoadAverage(),
            KafkaNativeLibrary.Describe(), partitions, sessionMs, initialDelayMs, summary, results);
        return await BenchOutput.WriteAsync("group", output, "group.json", file, Json, Markdown(file));
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static string Markdown(GroupResults file)
    {
        var text = new StringBuilder();
        text.AppendLine(BenchText.I($"{file.Date:yyyy-MM-dd}, `{file.Command}`, {file.Machine}, load average {file.LoadAtStart:0.00} → {file.LoadAtEnd:0.00}; {file.NativeLibrary}; {file.Partitions} partitions, session timeout {file.SessionTimeoutMs} ms, classic initial rebalance delay {file.InitialRebalanceDelayMs} ms. Seconds until settled, medians of {file.Summary[0].Runs} runs:"));
        text.AppendLine();
        text.AppendLine("| protocol | first member joins | second member joins | graceful leave (Close) | kill -9 | slowest of any step |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var row in file.Summary)
        {
            text.AppendLine(BenchText.I($"| {(row.Protocol == "consumer" ? "KIP-848 (`group.protocol=consumer`)" : "classic, cooperative-sticky")} | {row.FirstJoinSeconds:0.00} | {row.SecondJoinSeconds:0.00} | {row.LeaveSeconds:0.00} | {row.KillSeconds:0.00} | {row.WorstSeconds:0.00} |"));
        }

        return text.ToString();
    }

    private static async Task<GroupRunResult> OneRunAsync(string protocol, int run, int partitions, int sessionMs, int initialDelayMs)
    {
        using var kafka = EmbeddedKafka.Start();
        kafka.SetInitialRebalanceDelay(initialDelayMs);
        kafka.SetConsumerGroupTimeouts(sessionMs, Math.Max(100, sessionMs / 4));
        var topic = $"group-bench-{run}-{protocol}";
        kafka.CreateTopic(topic, partitions);
        string[] memberArgs = ["--bootstrap", kafka.BootstrapServers, "--topic", topic, "--group", topic, "--protocol", protocol, "--session-ms", sessionMs.ToString(CultureInfo.InvariantCulture)];

        var a = Member.Start(memberArgs);
        var b = default(Member);
        var c = default(Member);
        try
        {
            var firstJoin = await a.StartedAtAsync();
            var settled = await SettledAsync(partitions, a);
            var firstJoinSeconds = (settled - firstJoin) / 1000.0;

            b = Member.Start(memberArgs);
            var secondJoin = await b.StartedAtAsync();
            settled = await SettledAsync(partitions, a, b);
            var secondJoinSeconds = (settled - secondJoin) / 1000.0;

            var leaveAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            b.Terminate();
            settled = await SettledAsync(partitions, a);
            var leaveSeconds = (settled - leaveAt) / 1000.0;

            c = Member.Start(memberArgs);
            await c.StartedAtAsync();
            await SettledAsync(partitions, a, c);
            var killAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            c.Kill();
            settled = await SettledAsync(partitions, a);
            var killSeconds = (settled - killAt) / 1000.0;
            return new GroupRunResult(protocol, run, firstJoinSeconds, secondJoinSeconds, leaveSeconds, killSeconds);
        }
        finally
        {
            foreach (var m in new[] { a, b, c })
            {
                m?.Dispose();
            }
        }
    }

    // Waits until the members' latest reports split the partitions exactly and each holds some; returns the
    // wall-clock time (Unix ms) of the report that completed the split.
    private static async Task<long> SettledAsync(int partitions, params Member[] live)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < Deadline)
        {
            var latest = live.Select(m => m.Latest).ToArray();
            if (latest.All(l => l is { Owned.Count: > 0 })
                && latest.Sum(l => l!.Owned.Count) == partitions
                && latest.SelectMany(l => l!.Owned).Distinct().Count() == partitions)
            {
                return latest.Max(l => l!.AtUnixMs);
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"the group did not settle within {Deadline.TotalSeconds:0} s: {string.Join("; ", live.Select(m => m.Describe()))}");
    }

    private sealed record Ownership(long AtUnixMs, IReadOnlyCollection<int> Owned);

    private sealed class Member : IDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource<long> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<string> _lines = new();
        private Ownership? _latest;

        private Member(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => OnLine(e.Data);
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _lines.Enqueue(e.Data); } };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public Ownership? Latest => Volatile.Read(ref _latest);

        public static Member Start(string[] args)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(typeof(GroupRun).Assembly.Location);
            start.ArgumentList.Add("group-member");
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }

            return new Member(Process.Start(start) ?? throw new InvalidOperationException("could not start a group member"));
        }

        public async Task<long> StartedAtAsync() => await _started.Task.WaitAsync(Deadline);

        public void Terminate()
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }

        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        public string Describe() => $"pid {_process.Id}: {(Latest is { } l ? string.Join(',', l.Owned) : "nothing yet")} ({string.Join(" | ", _lines.TakeLast(3))})";

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            _lines.Enqueue(line);
            if (line.StartsWith("started", StringComparison.Ordinal))
            {
                _started.TrySetResult(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            }
            else if (line.StartsWith("owned ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                var owned = parts.Length > 2 && parts[2].Length > 0 ? parts[2].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray() : [];
                Volatile.Write(ref _latest, new Ownership(long.Parse(parts[1], CultureInfo.InvariantCulture), owned));
            }
        }
    }
}

/// <summary>One run of one protocol: seconds from the event (a member started, SIGTERM, SIGKILL) to settled.</summary>
public sealed record GroupRunResult(string Protocol, int Run, double FirstJoinSeconds, double SecondJoinSeconds, double LeaveSeconds, double KillSeconds);

/// <summary>Medians per protocol, and the slowest step seen in any run.</summary>
public sealed record GroupSummaryRow(string Protocol, int Runs, double FirstJoinSeconds, double SecondJoinSeconds, double LeaveSeconds, double KillSeconds, double WorstSeconds);

/// <summary>bench/results/group.json.</summary>
public sealed record GroupResults(
    string Benchmark,
    DateTimeOffset Date,
    string Command,
    MachineInfo Machine,
    double? LoadAtStart,
    double? LoadAtEnd,
    string NativeLibrary,
    int Partitions,
    int SessionTimeoutMs,
    int InitialRebalanceDelayMs,
    IReadOnlyList<GroupSummaryRow> Summary,
    IReadOnlyList<GroupRunResult> Runs);
