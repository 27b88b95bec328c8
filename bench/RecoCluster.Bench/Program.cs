using BenchmarkDotNet.Running;

namespace RecoCluster.Bench;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // The bench's own producers and consumers load the bundled librdkafka, as the cluster's processes do.
        Cluster.KafkaNativeLibrary.Use();
        // Macro benchmarks (real Kafka protocol, real storage, or the engine at scale) have their own runners, and so
        // do the charts and the docs report made from their results; `micro`, or no mode at all, is BenchmarkDotNet.
        switch (args)
        {
            case ["ingest", .. var rest]:
                return await Ingest.IngestRun.RunAsync(rest);
            case ["scale", .. var rest]:
                return await Scale.ScaleRun.RunAsync(rest);
            case ["queries", .. var rest]:
                return await Queries.QueryRun.RunAsync(rest);
            case ["memory", .. var rest]:
                return await Memory.MemoryRun.RunAsync(rest);
            case ["rebuild", .. var rest]:
                return await Rebuild.RebuildRun.RunAsync(rest);
            case ["quality", .. var rest]:
                return await Quality.QualityRun.RunAsync(rest);
            case ["quality-data", .. var rest]:
                return await Quality.QualityDataRun.RunAsync(rest);
            case ["freshness", .. var rest]:
                return await Freshness.FreshnessRun.RunAsync(rest);
            case ["group", .. var rest]:
                return await Group.GroupRun.RunAsync(rest);
            case ["group-member", .. var rest]:
                return Group.GroupMember.Run(rest);
            case ["charts", .. var rest]:
                return await Reporting.ChartsRun.RunAsync(rest);
            case ["report", .. var rest]:
                return await Reporting.DocsReport.RunAsync(rest);
            case ["micro", .. var rest]:
                args = rest;
                break;
            default:
                break;
        }

        // Without a filter, BenchmarkSwitcher asks on stdin which benchmarks to run; `./reco bench` is run from
        // scripts and CI, where nobody answers. So no filter means all of them, whatever other options are given.
        var hasFilter = args.Any(a => a is "--filter" or "-f" || a.StartsWith("--filter=", StringComparison.Ordinal));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(hasFilter ? args : [.. args, "--filter", "*"]);
        return 0;
    }
}
