using BenchmarkDotNet.Running;

namespace RecoCluster.Bench;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Macro benchmarks (real Kafka protocol, real storage) have their own runners; the rest is BenchmarkDotNet.
        if (args is ["ingest", .. var rest])
        {
            return await Ingest.IngestRun.RunAsync(rest);
        }

        if (args is ["quality", .. var qualityArgs])
        {
            return await Quality.QualityRun.RunAsync(qualityArgs);
        }

        // Without a filter, BenchmarkSwitcher asks on stdin which benchmarks to run; `./reco bench` is run from
        // scripts and CI, where nobody answers. So no filter means all of them, whatever other options are given.
        var hasFilter = args.Any(a => a is "--filter" or "-f" || a.StartsWith("--filter=", StringComparison.Ordinal));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(hasFilter ? args : [.. args, "--filter", "*"]);
        return 0;
    }
}
