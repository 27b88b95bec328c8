using RecoCluster.Cluster;

namespace RecoCluster.Bench;

/// <summary>The configuration every bench cluster's processes share: this run's embedded Kafka and topics, the
/// storage, a cluster secret, quiet logs (a bench measures, it does not trace) and a free port each.</summary>
public static class BenchSiloConfig
{
    public static Dictionary<string, string?> For(string bootstrapServers, TopicNames topics, string provider, string connectionString) => new()
    {
        ["Reco:Kafka:BootstrapServers"] = bootstrapServers,
        ["Reco:Kafka:TopicPrefix"] = topics.Prefix,
        ["Reco:Storage:Provider"] = provider,
        ["Reco:Storage:ConnectionString"] = connectionString,
        ["Reco:Cluster:Secret"] = "bench-cluster-secret-0123456789",
        ["Logging:LogLevel:Default"] = "Warning",
        ["urls"] = "http://127.0.0.1:0",
        // These benchmarks measure the first runtime until they move onto Orleans (issue 14); ingest-orleans
        // measures the Orleans path.
        ["Reco:Runtime"] = "Partitions",
    };
}
