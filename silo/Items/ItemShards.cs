using RecoCluster.Cluster;

namespace RecoCluster.Silo.Items;

/// <summary>Which item shard holds an item: murmur2 of its id (the partitioner Kafka uses for keys), modulo the shard
/// count. Stable across silos and versions, so every silo sends an item's deltas and reads to the same shard.</summary>
public static class ItemShards
{
    public static int Of(string itemId, int shards) => KafkaPartitioner.PartitionFor(itemId, shards);
}
