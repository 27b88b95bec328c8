namespace RecoCluster.Cluster;

/// <summary>
/// The cluster's Kafka topics, all under one prefix (default <c>reco</c>). A prefix per environment, or per
/// test class, keeps clusters that share a broker apart.
/// </summary>
public sealed record TopicNames(string Prefix)
{
    /// <summary>Clickstream events, key = userId. The public ingest contract.</summary>
    public string Events => $"{Prefix}.events";

    /// <summary>Records that are not valid events, with the reason in a header.</summary>
    public string DeadLetters => $"{Prefix}.events.dlq";

    /// <summary>One partition, compacted: the item catalog (category, tags, price, availability), key = item id.
    /// Every silo reads all of it.</summary>
    public string Catalog => $"{Prefix}.catalog";

    /// <summary>The topics and their partition counts, as <c>./reco kafka</c> creates them.</summary>
    public IReadOnlyList<(string Topic, int Partitions)> All(int partitions) =>
    [
        (Events, partitions),
        (DeadLetters, partitions),
        (Catalog, 1),
    ];
}
