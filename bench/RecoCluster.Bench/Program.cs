using BenchmarkDotNet.Running;

namespace RecoCluster.Bench;

public static class Program
{
    public static void Main(string[] args)
    {
        // Without a filter, BenchmarkSwitcher asks on stdin which benchmarks to run; `./reco bench` is run from
        // scripts and CI, where nobody answers. So no filter means all of them, whatever other options are given.
        var hasFilter = args.Any(a => a is "--filter" or "-f" || a.StartsWith("--filter=", StringComparison.Ordinal));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(hasFilter ? args : [.. args, "--filter", "*"]);
    }
}
