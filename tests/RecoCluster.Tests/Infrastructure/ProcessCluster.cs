using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using RecoCluster.Host;
using RecoCluster.Cluster;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>
/// A cluster made of real <c>reco</c> processes, started as the README tells users to: <c>reco kafka</c>, several
/// <c>reco silo</c> and one <c>reco gateway</c>, configured by flags. Silos can be killed with SIGKILL (no
/// warning, no final checkpoint) or stopped with SIGTERM. Each process's output goes to a log file that a failing
/// test prints. On Orleans the membership is Orleans' ADO.NET table in PostgreSQL, as in production, so any silo may
/// be killed: in the storage's database on PostgreSQL, in a database of its own when the grain state is in SQLite.
/// </summary>
public sealed class ProcessCluster : IClusterUnderTest, IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reco-procs-").FullName;
    private readonly List<RecoProcess> _all = [];
    private RecoProcess _kafka = null!;
    private int _siloCounter;
    private readonly string _membership;

    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly IReadOnlyList<string> _siloFlags;

    private ProcessCluster(string prefix, int partitions, TestStorage storage, string membership, IReadOnlyDictionary<string, string>? environment, IReadOnlyList<string>? siloFlags)
    {
        _siloFlags = siloFlags ?? [];
        Prefix = prefix;
        Partitions = partitions;
        Storage = storage;
        _membership = membership;
        _environment = environment ?? new Dictionary<string, string>();
    }

    public string Prefix { get; }

    public int Partitions { get; }

    public TestStorage Storage { get; }

    public TopicNames Topics => new(Prefix);

    public string BootstrapServers { get; private set; } = string.Empty;

    public HttpClient Gateway { get; private set; } = null!;

    public List<RecoProcess> Silos { get; } = [];

    /// <summary>Each silo's HTTP address (health and metrics), by process.</summary>
    public Dictionary<RecoProcess, Uri> SiloHttp { get; } = [];

    /// <summary>Every process started, in order: Kafka, the silos, the gateway, later silos.</summary>
    public IReadOnlyList<RecoProcess> Processes => _all;

    /// <summary>Starts Kafka, <paramref name="silos"/> silos and a gateway; <paramref name="environment"/> is added to
    /// every process (configuration keys spelled with "__"). With <paramref name="gatewayHttps"/>, the gateway serves
    /// HTTPS with that certificate, and <see cref="Gateway"/> trusts it. <paramref name="siloFlags"/> come last on
    /// every silo's command line, so they override the defaults here (the fast failure detection, say).</summary>
    public static async Task<ProcessCluster> StartAsync(TestStorage storage, int silos, int partitions = 8, IReadOnlyDictionary<string, string>? environment = null, SelfSignedCertificate? gatewayHttps = null, IReadOnlyList<string>? siloFlags = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        // Orleans' membership in PostgreSQL, as in production: in the storage's database, or one of its own when the
        // grain state is in SQLite.
        var membership = storage.Provider == "Postgres" ? storage.ConnectionString : (await TestDatabases.NewPostgresAsync()).ConnectionString;
        var cluster = new ProcessCluster($"p{Guid.NewGuid():N}"[..12], partitions, storage, membership, environment, siloFlags);

        var bootstrapFile = Path.Combine(cluster._dir, "bootstrap");
        cluster._kafka = cluster.Start("kafka", ["kafka", "--partitions", partitions.ToString(System.Globalization.CultureInfo.InvariantCulture), "--topic-prefix", cluster.Prefix, "--bootstrap-file", bootstrapFile]);
        cluster.BootstrapServers = (await cluster._kafka.FirstStdoutLineAsync(TimeSpan.FromSeconds(30))).Trim();
        Assert.Equal(cluster.BootstrapServers, (await File.ReadAllTextAsync(bootstrapFile)).Trim());

        for (var i = 0; i < silos; i++)
        {
            cluster.StartSilo();
        }

        var (_, address) = cluster.StartGateway("gateway", gatewayHttps);
        cluster.Gateway = TestKeys.Client(address, TestKeys.Admin, gatewayHttps?.TrustingHandler());
        await cluster.WaitUntilReadyAsync();
        return cluster;
    }

    /// <summary>Starts a gateway process named <paramref name="name"/> on a free port, over HTTPS with
    /// <paramref name="https"/> (Kestrel's endpoint settings, as an operator sets them), with
    /// <paramref name="extra"/> flags last; returns it and its address.</summary>
    public (RecoProcess Process, Uri Address) StartGateway(string name, SelfSignedCertificate? https, params string[] extra)
    {
        var port = Text(TestPorts.Free(1)[0]);
        // Keys and limits as flags, the way an operator passes configuration keys on the command line.
        var gatewayOnly = TestKeys.Config().Where(c => c.Key.StartsWith("Reco:Gateway:", StringComparison.Ordinal)).Select(c => $"--{c.Key}={c.Value}");
        string[] listen = https is null
            ? ["--urls", $"http://127.0.0.1:{port}"]
            : [
                $"--Kestrel:Endpoints:Https:Url=https://127.0.0.1:{port}",
                $"--Kestrel:Endpoints:Https:Certificate:Path={https.CertificatePath}",
                $"--Kestrel:Endpoints:Https:Certificate:KeyPath={https.KeyPath}",
            ];
        var process = Start(name, ["gateway", .. Common(), .. gatewayOnly, .. listen, .. extra]);
        return (process, new Uri($"{(https is null ? "http" : "https")}://127.0.0.1:{port}"));
    }

    public RecoProcess StartSilo()
    {
        var ports = TestPorts.Free(3);
        var name = $"silo-{++_siloCounter}";
        var silo = Start(
            name,
            [
                "silo", .. Common(), "--storage", Storage.Provider, "--connection-string", Storage.ConnectionString, "--silo-id", name,
                "--silo-port", Text(ports[0]), "--gateway-port", Text(ports[1]), "--urls", $"http://127.0.0.1:{ports[2]}", .. _siloFlags,
            ],
            // The name of the pod it would run in, which Orleans' Kubernetes hosting reads (KubernetesHostingTests).
            new Dictionary<string, string> { ["POD_NAME"] = name });
        Silos.Add(silo);
        SiloHttp[silo] = new Uri($"http://127.0.0.1:{ports[2]}");

        return silo;
    }

    /// <summary>The silo process named <paramref name="name"/> in Orleans' membership (its <c>--silo-id</c>).</summary>
    public RecoProcess SiloNamed(string name) => Silos.Single(s => s.Name == name);

    /// <summary>SIGKILL: the process gets no chance to checkpoint or leave the group.</summary>
    public void Kill(RecoProcess silo)
    {
        silo.Process.Kill();
        silo.Process.WaitForExit();
        Silos.Remove(silo);
    }

    /// <summary>SIGTERM, as Kubernetes sends it, then as long a wait as the silo's pod gets
    /// (terminationGracePeriodSeconds in deploy/k8s/base/silo.yaml); returns the exit code.</summary>
    public async Task<int> TerminateAsync(RecoProcess silo)
    {
        await SignalAsync(silo, "TERM");

        // The host itself allows its shutdown 30 s (.NET's default), so a wait of exactly 30 s here raced it: a silo
        // whose grains' last calls waited for a silo killed just before took that long, and the test failed while
        // the silo was still stopping as designed.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await silo.Process.WaitForExitAsync(timeout.Token);
        Silos.Remove(silo);
        return silo.Process.ExitCode;
    }

    /// <summary>SIGSTOP: the silo freezes where it is, its connections open, until <see cref="ResumeAsync"/>.</summary>
    public static Task PauseAsync(RecoProcess silo) => SignalAsync(silo, "STOP");

    /// <summary>SIGCONT, after <see cref="PauseAsync"/>.</summary>
    public static Task ResumeAsync(RecoProcess silo) => SignalAsync(silo, "CONT");

    public async Task WaitUntilReadyAsync() => await WaitUntilEveryPartitionIsReadAsync();

    // Every silo process is an active member, and every partition's ingress runs on one of them.
    private async Task WaitUntilEveryPartitionIsReadAsync() =>
        await Eventually.TrueAsync(
            async () =>
            {
                using var ready = await Gateway.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (!ready.IsSuccessStatusCode)
                {
                    return false;
                }

                var view = await Gateway.GetFromJsonAsync<System.Text.Json.JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
                var silos = view.GetProperty("silos").EnumerateArray().ToList();
                var names = silos.Select(s => s.GetProperty("name").GetString()).Order(StringComparer.Ordinal);
                var addresses = silos.Select(s => s.GetProperty("address").GetString()).ToHashSet(StringComparer.Ordinal);
                var partitions = view.GetProperty("partitions").EnumerateArray().ToList();
                return names.SequenceEqual(Silos.Select(s => s.Name).Order(StringComparer.Ordinal))
                    && partitions.Count == Partitions
                    && partitions.All(p => p.GetProperty("status").ValueKind == System.Text.Json.JsonValueKind.Object
                        && addresses.Contains(p.GetProperty("status").GetProperty("silo").GetString()!));
            },
            TimeSpan.FromSeconds(90),
            "every silo process an active member and every partition read by one of them");

    /// <summary>Every process's log, for a failing test's output.</summary>
    public string Logs() => string.Join("\n", _all.Select(p => $"===== {p.Name} (exit {(p.Process.HasExited ? p.Process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-")})\n{Tail(p.LogFile)}"));

    public async ValueTask DisposeAsync()
    {
        Gateway?.Dispose();
        foreach (var p in _all.Where(p => !p.Process.HasExited).Reverse())
        {
            try
            {
                p.Process.Kill();
                await p.Process.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
            }
        }

        foreach (var p in _all)
        {
            p.Process.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private string[] Common() =>
    [
        .. Recount.TestRuleSettings.Select(s => $"--{s.Key}={s.Value}"),
        "--bootstrap", BootstrapServers,
        "--topic-prefix", Prefix,
        "--clustering", "AdoNet",
        "--cluster-id", Prefix,
        $"--Reco:Orleans:ConnectionString={_membership}",
        // A killed silo is declared dead within seconds, not Orleans' default of about half a minute.
        "--Reco:Orleans:Membership:ProbeTimeout=00:00:01",
        "--Reco:Orleans:Membership:NumMissedProbesLimit=2",
        "--Reco:Orleans:Membership:NumVotesForDeathDeclaration=1",
    ];

    private static async Task SignalAsync(RecoProcess silo, string signal)
    {
        var (exitCode, _, stderr) = await ChildProcess.RunAsync("kill", [$"-{signal}", Text(silo.Process.Id)]);
        Assert.True(exitCode == 0, $"kill -{signal} {silo.Name} exited with {exitCode}: {stderr}");
    }

    private static string Text(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private RecoProcess Start(string name, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "reco.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (key, value) in _environment.Concat(environment ?? new Dictionary<string, string>()))
        {
            start.Environment[key] = value;
        }

        var process = new RecoProcess(name, Process.Start(start)!, Path.Combine(_dir, name + ".log"));
        _all.Add(process);
        return process;
    }

    private static string Tail(string file)
    {
        if (!File.Exists(file))
        {
            return "(no output)";
        }

        var lines = File.ReadAllLines(file);
        return string.Join("\n", lines.Skip(Math.Max(0, lines.Length - 40)));
    }
}

/// <summary>One <c>reco</c> process; stdout and stderr are appended to <see cref="LogFile"/>.</summary>
public sealed class RecoProcess
{
    private readonly TaskCompletionSource<string> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();

    public RecoProcess(string name, Process process, string logFile)
    {
        Name = name;
        Process = process;
        LogFile = logFile;
        process.OutputDataReceived += (_, e) => OnLine(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, stdout: false);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public Process Process { get; }

    public string LogFile { get; }

    public async Task<string> FirstStdoutLineAsync(TimeSpan deadline) => await _firstLine.Task.WaitAsync(deadline);

    public string Log()
    {
        lock (_gate)
        {
            return File.Exists(LogFile) ? File.ReadAllText(LogFile) : string.Empty;
        }
    }

    private void OnLine(string? line, bool stdout)
    {
        if (line is null)
        {
            return;
        }

        if (stdout)
        {
            _firstLine.TrySetResult(line);
        }

        lock (_gate)
        {
            File.AppendAllText(LogFile, line + "\n", Encoding.UTF8);
        }
    }
}
