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
        };

        // The delivery timeout is the one reliability setting an operator may tune through Reco:Kafka:Client
        // (how long ingest waits before answering 503); acks and idempotence stay as they are.
        if (options.Client.TryGetValue("message.timeout.ms", out var timeout))
        {
            config.Set("message.timeout.ms", timeout);
        }

        return config;
    }

    /// <summary>A killed silo's partitions move after this long without heartbeats: the classic protocol's
    /// client setting, and what the embedded Kafka sets as its broker-side KIP-848 session timeout.</summary>
    public const int SessionTimeoutMs = 6_000;

    /// <summary>The heartbeat interval that goes with <see cref="SessionTimeoutMs"/>.</summary>
    public const int HeartbeatIntervalMs = 1_500;

    /// <summary>A consumer that never commits to Kafka: positions live in the checkpoint store (or nowhere, for
    /// readers of the directory), so Kafka's committed offsets can never disagree with the state.</summary>
    /// <remarks>
    /// Group protocol KIP-848 (<c>group.protocol=consumer</c>) by default: on the embedded Kafka it settles a join
    /// in 1.5 s, a graceful leave in 1.3 s and a kill -9 in 7.2 s, against 10.1, 5.1 and 11.3 s for the classic
    /// cooperative-sticky protocol (docs/benchmarks.md, "Consumer groups"). Its session timeout is the broker's
    /// (<c>group.consumer.session.timeout.ms</c>), so clients set none. A cluster on brokers older than Kafka 4.0
    /// sets <c>Reco:Kafka:Client:group.protocol=classic</c> and gets cooperative-sticky with the same timeouts.
    /// </remarks>
    public static ConsumerConfig Consumer(KafkaOptions options, string groupId, string clientId)
    {
        ArgumentNullException.ThrowIfNull(options);
        KafkaNativeLibrary.Use();
        var config = new ConsumerConfig(Extras(options))
        {
            BootstrapServers = RequireAddress(options),
            GroupId = groupId,
            ClientId = clientId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        if (string.Equals(config.Get("group.protocol"), "classic", StringComparison.OrdinalIgnoreCase))
        {
            config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;
            config.SessionTimeoutMs = SessionTimeoutMs;
            config.HeartbeatIntervalMs = HeartbeatIntervalMs;
        }
        else
        {
            config.Set("group.protocol", "consumer");
        }

        return config;
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
