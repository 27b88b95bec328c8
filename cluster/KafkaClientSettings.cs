using Confluent.Kafka;

namespace RecoCluster.Cluster;

/// <summary>Client settings every process uses, so producers and consumers agree on partitioning and delivery.</summary>
public static class KafkaClientSettings
{
    /// <summary>A producer for keyed records that must not be lost: acks=all and idempotence (no duplicates from
    /// retries, order kept per partition), and Kafka's default murmur2 partitioner so a user's events land on
    /// the partition <see cref="KafkaPartitioner"/> computes.</summary>
    public static ProducerConfig ReliableProducer(KafkaOptions options, string clientId)
    {
        ArgumentNullException.ThrowIfNull(options);
        KafkaNativeLibrary.Use();
        var config = new ProducerConfig(Extras(options))
        {
            BootstrapServers = RequireAddress(options),
            ClientId = clientId,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = Partitioner.Murmur2Random,
            // Fail a delivery within a bounded time instead of retrying forever, so callers can answer 503.
            MessageTimeoutMs = 10_000,
            LingerMs = 2,
            StatisticsIntervalMs = options.StatisticsIntervalMs,
        };

        // The delivery timeout is the one reliability setting an operator may tune through Reco:Kafka:Client
        // (how long ingest waits before answering 503); acks and idempotence stay as they are.
        if (options.Client.TryGetValue("message.timeout.ms", out var timeout))
        {
            config.Set("message.timeout.ms", timeout);
        }

        return config;
    }

    /// <summary>The consumer-group session timeout the embedded Kafka sets for group members (the group benchmark's
    /// members; the cluster's own consumers join no group).</summary>
    public const int SessionTimeoutMs = 6_000;

    /// <summary>The heartbeat interval that goes with <see cref="SessionTimeoutMs"/>.</summary>
    public const int HeartbeatIntervalMs = 1_500;

    /// <summary>A consumer that is assigned its partitions and never commits to Kafka: an ingress keeps its position
    /// in the database with the state it describes (and the catalog reader reads from the start), so Kafka's
    /// committed offsets can never disagree with the state. No group membership, so no rebalances.</summary>
    public static ConsumerConfig Consumer(KafkaOptions options, string groupId, string clientId)
    {
        ArgumentNullException.ThrowIfNull(options);
        KafkaNativeLibrary.Use();
        return new ConsumerConfig(Extras(options))
        {
            BootstrapServers = RequireAddress(options),
            // librdkafka wants a group id even for assigned partitions; nothing is committed under it.
            GroupId = groupId,
            ClientId = clientId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            StatisticsIntervalMs = options.StatisticsIntervalMs,
        };
    }

    private static Dictionary<string, string> Extras(KafkaOptions options) => new(options.Client);

    /// <summary>The bootstrap address, or a clear error for "embedded" outside the one process that hosts it.</summary>
    public static string RequireAddress(KafkaOptions options)
    {
        if (options.IsEmbedded)
        {
            throw new InvalidOperationException(
                "Reco:Kafka:BootstrapServers is 'embedded', but the embedded Kafka lives inside one process. " +
                "Use './reco dev' for a single-process cluster, or start './reco kafka' and pass the address it prints " +
                "(--bootstrap HOST:PORT or Reco__Kafka__BootstrapServers).");
        }

        return options.BootstrapServers;
    }
}
