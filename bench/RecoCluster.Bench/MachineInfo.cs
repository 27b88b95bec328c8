using System.Globalization;

namespace RecoCluster.Bench;

/// <summary>The machine a run was made on, recorded in each results file: figures from a 2-core VM and from a
/// workstation are not comparable, and the docs must say which is which.</summary>
/// <param name="Cores">Logical processors the runtime sees.</param>
/// <param name="Cpu">The first <c>model name</c> of <c>/proc/cpuinfo</c>.</param>
/// <param name="MemoryGiB">MemTotal of <c>/proc/meminfo</c>, in GiB.</param>
public sealed record MachineInfo(int Cores, string Cpu, double MemoryGiB)
{
    public static MachineInfo Current() => new(Environment.ProcessorCount, CpuModel(), MemoryGiBTotal());

    /// <summary>The 1-minute load average (<c>/proc/loadavg</c>), or null where there is none. The machine may be
    /// shared: a run made while others were busy says so in its results.</summary>
    public static double? LoadAverage()
    {
        const string path = "/proc/loadavg";
        return File.Exists(path)
            ? double.Parse(File.ReadAllText(path).Split(' ')[0], CultureInfo.InvariantCulture)
            : null;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Cores} cores, \"{Cpu}\", {MemoryGiB:0.#} GiB RAM");

    private static string CpuModel()
    {
        const string path = "/proc/cpuinfo";
        var line = File.Exists(path) ? File.ReadLines(path).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line is null ? "unknown CPU" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    private static double MemoryGiBTotal()
    {
        const string path = "/proc/meminfo";
        var line = File.Exists(path) ? File.ReadLines(path).FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) : null;
        if (line is null)
        {
            return double.NaN;
        }

        // "MemTotal:       24589032 kB"
        var kib = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return Math.Round(kib / (1024.0 * 1024.0), 1);
    }
}
