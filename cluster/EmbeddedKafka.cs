using System.Runtime.InteropServices;
using System.Text;

namespace RecoCluster.Cluster;

/// <summary>
/// An in-process Kafka: librdkafka's mock cluster (<c>rdkafka_mock.h</c>), reached through P/Invoke. It speaks
/// the real Kafka protocol on 127.0.0.1 TCP listeners, so clients in this or other processes connect to
/// <see cref="BootstrapServers"/> exactly as to a real broker. It keeps everything in memory and only about
/// 5 MB per partition (older records are dropped), which suits development and tests, not production.
/// </summary>
public sealed partial class EmbeddedKafka : IDisposable
{
    // Resolved by KafkaNativeLibrary to the same bundled file Confluent.Kafka loads.
    private const string Lib = "librdkafka";
    private const int ProducerType = 0;

    private readonly Lock _gate = new();
    private IntPtr _handle;
    private IntPtr _cluster;

    private EmbeddedKafka(IntPtr handle, IntPtr cluster, int brokers)
    {
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokers;
        BootstrapServers = Marshal.PtrToStringUTF8(NativeMethods.rd_kafka_mock_cluster_bootstraps(cluster))
            ?? throw new InvalidOperationException("the mock cluster reported no bootstrap address");
    }

    /// <summary>The address clients connect to, e.g. <c>127.0.0.1:39411</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1..<see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a mock cluster of <paramref name="brokers"/> brokers.</summary>
    public static EmbeddedKafka Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        KafkaNativeLibrary.Use();
        var conf = NativeMethods.rd_kafka_conf_new();
        var errstr = new byte[512];
        // The mock needs a client handle to live in; its own logs would only repeat what clients report.
        Set(conf, "log_level", "3", errstr);
        Set(conf, "client.id", "reco-embedded-kafka", errstr);
        var handle = NativeMethods.rd_kafka_new(ProducerType, conf, errstr, (nuint)errstr.Length);
        if (handle == IntPtr.Zero)
        {
            throw new InvalidOperationException($"librdkafka could not create a client handle for the mock cluster: {Text(errstr)}");
        }

        var cluster = NativeMethods.rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            NativeMethods.rd_kafka_destroy(handle);
            throw new InvalidOperationException("librdkafka could not start its mock cluster");
        }

        var kafka = new EmbeddedKafka(handle, cluster, brokers);
        // The mock's KIP-848 session timeout is a broker's default (45 s): a killed silo's partitions would wait
        // that long. Development and tests want the silos' classic timeouts (see KafkaClientSettings.Consumer).
        kafka.SetConsumerGroupTimeouts(KafkaClientSettings.SessionTimeoutMs, KafkaClientSettings.HeartbeatIntervalMs);
        return kafka;
    }

    /// <summary>Creates a topic (replication factor 1). Creating an existing topic is an error.</summary>
    public void CreateTopic(string topic, int partitions)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        Check(NativeMethods.rd_kafka_mock_topic_create(Cluster(), topic, partitions, 1), $"create topic {topic}");
    }

    /// <summary>Creates every topic of the cluster under <paramref name="topics"/>' prefix.</summary>
    public void CreateTopics(TopicNames topics, int partitions)
    {
        ArgumentNullException.ThrowIfNull(topics);
        foreach (var (topic, count) in topics.All(partitions))
        {
            CreateTopic(topic, count);
        }
    }

    /// <summary>Fault injection: the broker stops answering (connections are refused) until
    /// <see cref="SetBrokerUp"/>.</summary>
    public void SetBrokerDown(int brokerId) =>
        Check(NativeMethods.rd_kafka_mock_broker_set_down(Cluster(), brokerId), $"set broker {brokerId} down");

    /// <summary>Fault injection: the broker answers again.</summary>
    public void SetBrokerUp(int brokerId) =>
        Check(NativeMethods.rd_kafka_mock_broker_set_up(Cluster(), brokerId), $"set broker {brokerId} up");

    /// <summary>Fault injection: adds round-trip latency to a broker's responses.</summary>
    public void SetBrokerRtt(int brokerId, int rttMs) =>
        Check(NativeMethods.rd_kafka_mock_broker_set_rtt(Cluster(), brokerId, rttMs), $"set broker {brokerId} rtt");

    /// <summary>Fault injection: the next requests of type <paramref name="apiKey"/> (a Kafka protocol API key,
    /// e.g. 0 = Produce, 1 = Fetch) fail with <paramref name="errors"/>, one per request, in order.</summary>
    public void PushRequestErrors(short apiKey, params int[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        NativeMethods.rd_kafka_mock_push_request_errors_array(Cluster(), apiKey, (nuint)errors.Length, errors);
    }

    /// <summary>Classic groups: how long the coordinator waits for more members before the first assignment
    /// (the mock's default is 3 s, as a real broker's <c>group.initial.rebalance.delay.ms</c>).</summary>
    public void SetInitialRebalanceDelay(int delayMs) =>
        NativeMethods.rd_kafka_mock_group_initial_rebalance_delay_ms(Cluster(), delayMs);

    /// <summary>KIP-848 groups (<c>group.protocol=consumer</c>): the broker-side session timeout and heartbeat
    /// interval, which such clients cannot set themselves (a broker's <c>group.consumer.session.timeout.ms</c>
    /// and <c>group.consumer.heartbeat.interval.ms</c>).</summary>
    public void SetConsumerGroupTimeouts(int sessionTimeoutMs, int heartbeatIntervalMs)
    {
        NativeMethods.rd_kafka_mock_set_group_consumer_session_timeout_ms(Cluster(), sessionTimeoutMs);
        NativeMethods.rd_kafka_mock_set_group_consumer_heartbeat_interval_ms(Cluster(), heartbeatIntervalMs);
    }

    /// <summary>Removes errors pushed for <paramref name="apiKey"/> that have not fired yet.</summary>
    public void ClearRequestErrors(short apiKey) => NativeMethods.rd_kafka_mock_clear_request_errors(Cluster(), apiKey);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster != IntPtr.Zero)
            {
                NativeMethods.rd_kafka_mock_cluster_destroy(_cluster);
                _cluster = IntPtr.Zero;
            }

            if (_handle != IntPtr.Zero)
            {
                NativeMethods.rd_kafka_destroy(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }

    private IntPtr Cluster()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            return _cluster;
        }
    }

    private static void Set(IntPtr conf, string name, string value, byte[] errstr)
    {
        if (NativeMethods.rd_kafka_conf_set(conf, name, value, errstr, (nuint)errstr.Length) != 0)
        {
            throw new InvalidOperationException($"librdkafka rejected {name}={value}: {Text(errstr)}");
        }
    }

    private static void Check(int err, string what)
    {
        if (err != 0)
        {
            var message = Marshal.PtrToStringUTF8(NativeMethods.rd_kafka_err2str(err)) ?? err.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new InvalidOperationException($"embedded Kafka could not {what}: {message}");
        }
    }

    private static string Text(byte[] errstr)
    {
        var end = Array.IndexOf(errstr, (byte)0);
        return Encoding.UTF8.GetString(errstr, 0, end < 0 ? errstr.Length : end);
    }

    private static partial class NativeMethods
    {
        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_conf_new();

        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte[] errstr, nuint errstrSize);

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, nuint errstrSize);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_destroy(IntPtr rk);

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_err2str(int err);

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor);

        [LibraryImport(Lib)]
        internal static partial int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

        [LibraryImport(Lib)]
        internal static partial int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);

        [LibraryImport(Lib)]
        internal static partial int rd_kafka_mock_broker_set_rtt(IntPtr cluster, int brokerId, int rttMs);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_push_request_errors_array(IntPtr cluster, short apiKey, nuint count, int[] errors);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_clear_request_errors(IntPtr cluster, short apiKey);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr cluster, int delayMs);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_set_group_consumer_session_timeout_ms(IntPtr cluster, int timeoutMs);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_set_group_consumer_heartbeat_interval_ms(IntPtr cluster, int intervalMs);
    }
}
