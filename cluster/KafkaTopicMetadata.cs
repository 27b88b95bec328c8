using Confluent.Kafka;

namespace RecoCluster.Cluster;

/// <summary>Reads what Kafka knows about a topic.</summary>
public static class KafkaTopicMetadata
{
    /// <summary>The topic's partition count, or 0 when Kafka does not know the topic (yet) or did not answer within
    /// <paramref name="timeout"/>. Blocks: call it off request paths, or cache it.</summary>
    public static int PartitionCount(KafkaOptions kafka, string topic, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        KafkaNativeLibrary.Use();
        using var admin = new AdminClientBuilder(new AdminClientConfig(kafka.Client) { BootstrapServers = KafkaClientSettings.RequireAddress(kafka) }).Build();
        try
        {
            var metadata = admin.GetMetadata(topic, timeout);
            return metadata.Topics.FirstOrDefault(t => t.Topic == topic && t.Error.Code == Confluent.Kafka.ErrorCode.NoError)?.Partitions.Count ?? 0;
        }
        catch (KafkaException)
        {
            return 0;
        }
    }
}
