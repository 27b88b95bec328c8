using System.Collections.Concurrent;
using System.Diagnostics;

namespace RecoCluster.Bench.Scale;

/// <summary>
/// One silo of the scale bench: <c>reco silo</c> in a process of its own, as a user starts it, configured by flags.
/// The bench references the host project, so <c>reco.dll</c> is built next to the bench's own assembly (and next to
/// the tests', which run this bench as a smoke test). The process's last lines of output are kept for the message
/// of a run that fails.
/// </summary>
public sealed class SiloProcess : IDisposable
{
    private const int TailLines = 40;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _tail = new();

    private SiloProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>The silo's name (<c>Reco:Silo:Id</c>), as Orleans' membership lists it.</summary>
    public string Name { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>reco silo</c> with every entry of <paramref name="config"/> as a <c>--key=value</c> flag
    /// and <paramref name="name"/> as its silo id, at a lower priority than this process (nice 10).</summary>
    /// <remarks>
    /// This process stands in for what a deployment runs on other machines: the Kafka cluster and the producers. At
    /// the same priority, four busy silo processes left the producer a small share of two cores: it took 11 to 18 s
    /// to write the 400,000 events it wrote in 4 s beside one silo, the silos read a trickle in small batches, and
    /// the bench timed the producer. With the silos niced the producer writes at its own speed and the silos take
    /// every cycle it leaves: the rate is what the silos can do with a backlog. Every thread inherits the niceness,
    /// which a priority set on the process after its start (one thread, on Linux) would not give.
    /// </remarks>
    public static SiloProcess Start(string name, IReadOnlyDictionary<string, string?> config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var reco = Path.Combine(AppContext.BaseDirectory, "reco.dll");
        if (!File.Exists(reco))
        {
            throw new FileNotFoundException($"{reco} not found: it is the host project's build output, which building the bench project copies next to it", reco);
        }

        var start = new ProcessStartInfo(OperatingSystem.IsWindows() ? "dotnet" : "nice")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (!OperatingSystem.IsWindows())
        {
            // nice executes dotnet in its own process, so the process started is the silo.
            start.ArgumentList.Add("-n");
            start.ArgumentList.Add("10");
            start.ArgumentList.Add("dotnet");
        }

        // As the deployment's silos run (deploy/k8s/base/silo.yaml): this code compiled optimized at its first call.
        start.Environment["DOTNET_TC_QuickJit"] = "0";
        start.ArgumentList.Add(reco);
        start.ArgumentList.Add("silo");
        foreach (var (key, value) in config)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.ArgumentList.Add($"--Reco:Silo:Id={name}");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {reco}");
        var silo = new SiloProcess(name, process);
        process.OutputDataReceived += (_, e) => silo.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>The CPU time the process has used so far (user and kernel, all its threads).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The most memory the process has had resident so far, in bytes (Linux's VmHWM), while it runs.</summary>
    public long PeakResidentBytes
    {
        get
        {
            _process.Refresh();
            return _process.PeakWorkingSet64;
        }
    }

    /// <summary>The last lines the process wrote.</summary>
    public string Tail() => string.Join('\n', _tail);

    /// <summary>Kills the process (SIGKILL) if it still runs. The run it served is over and its database is
    /// thrown away, so there is nothing for a graceful stop to save.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _tail.Enqueue(line);
        while (_tail.Count > TailLines)
        {
            _tail.TryDequeue(out _);
        }
    }
}
