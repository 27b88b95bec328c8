using RecoCluster.Cluster;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>What a test needs of a running cluster, whether in-process or made of <c>reco</c> processes.</summary>
public interface IClusterUnderTest
{
    HttpClient Gateway { get; }

    string BootstrapServers { get; }

    TopicNames Topics { get; }

    int Partitions { get; }
}
