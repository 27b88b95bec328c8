using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>
/// librdkafka's statistics as instruments of the RecoCluster meter: every Kafka client of the process hands its
/// statistics JSON (<c>statistics.interval.ms</c>, <see cref="KafkaOptions.StatisticsIntervalMs"/>) to
/// <see cref="Record"/>, which keeps the latest figures of each client; the gauges read them at collection.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>reco_kafka_fetch_lag</c> {record}, per client, topic and partition: the partition's end of log less the
/// next offset the consumer hands over (<c>hi_offset − app_offset</c>, or <c>next_offset</c> before the first
/// record): what the reader has not read yet. The
/// ingress's <c>reco_consumer_lag</c> counts from the checkpoint instead; librdkafka's own <c>consumer_lag</c>
/// counts from committed offsets, which these consumers never have.</item>
/// <item><c>reco_kafka_broker_rtt</c> s, per client, broker and <c>stat</c> (<c>avg</c>, <c>p99</c>): the request
/// round trips of the last statistics window, absent for a client that made none in it (an idle producer). A
/// consumer's fetches count, and the broker holds an empty fetch up to <c>fetch.wait.max.ms</c>, so an idle
/// reader's round trip is about its fetch wait.</item>
/// <item><c>reco_kafka_queued_messages</c> {message}, per client: messages waiting in a producer's queues for
/// delivery.</item>
/// </list>
/// Written by hand because no library turns librdkafka's statistics into OpenTelemetry instruments; the JSON is
/// parsed once per client and interval, off every hot path (on the client's poll thread).
/// </remarks>
public sealed class KafkaStatistics
{
    private readonly ConcurrentDictionary<string, KafkaClientFigures> _clients = new(StringComparer.Ordinal);

    public KafkaStatistics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(RecoTelemetry.MeterName);
        meter.CreateObservableGauge("reco_kafka_fetch_lag", ObserveFetchLag, "{record}", "Records of a partition past what its consumer has read (end of log less the next offset handed over), from librdkafka's statistics.");
        meter.CreateObservableGauge("reco_kafka_broker_rtt", ObserveRtt, "s", "Kafka request round trips to a broker over the last statistics window (stat: avg or p99), from librdkafka's statistics.");
        meter.CreateObservableGauge("reco_kafka_queued_messages", ObserveQueued, "{message}", "Messages in a producer's queues waiting for delivery, from librdkafka's statistics.");
    }

    /// <summary>Keeps the figures of one client's statistics JSON, replacing its previous ones. JSON that is
    /// malformed or shaped otherwise is ignored: statistics must never hurt the client that reports them, and
    /// Confluent.Kafka rethrows a handler's exception from the consumer's <c>Consume</c>, which would stop a
    /// partition's reader.</summary>
    public void Record(string json)
    {
        try
        {
            var figures = Parse(json);
            if (figures is not null)
            {
                _clients[figures.Client] = figures;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
        }
    }

    /// <summary>Drops a client's figures when it closes, so that its series end with it (a partition's reader
    /// that moved to another silo).</summary>
    public void Forget(string clientName) => _clients.TryRemove(clientName, out _);

    /// <summary>The figures of one statistics JSON, or null when it names no client.</summary>
    public static KafkaClientFigures? Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (!root.TryGetProperty("name", out var name) || name.GetString() is not { Length: > 0 } client)
        {
            return null;
        }

        var lags = new List<(string Topic, int Partition, long Lag)>();
        if (root.TryGetProperty("topics", out var topics))
        {
            foreach (var topic in topics.EnumerateObject())
            {
                if (!topic.Value.TryGetProperty("partitions", out var partitions))
                {
                    continue;
                }

                foreach (var p in partitions.EnumerateObject())
                {
                    // Partition -1 is librdkafka's internal "unassigned" one; offsets below 0 are "not known yet".
                    // Before a reader hands over its first record there is no app_offset, and the offset it will
                    // fetch next is where it stands.
                    var partition = p.Value.GetProperty("partition").GetInt32();
                    var high = p.Value.GetProperty("hi_offset").GetInt64();
                    var next = p.Value.GetProperty("app_offset").GetInt64();
                    if (next < 0 && p.Value.TryGetProperty("next_offset", out var fetching))
                    {
                        next = fetching.GetInt64();
                    }

                    if (partition >= 0 && high >= 0 && next >= 0)
                    {
                        lags.Add((topic.Name, partition, Math.Max(0, high - next)));
                    }
                }
            }
        }

        var rtts = new List<(string Broker, double AvgSeconds, double P99Seconds)>();
        if (root.TryGetProperty("brokers", out var brokers))
        {
            foreach (var broker in brokers.EnumerateObject())
            {
                // Bootstrap and internal entries (node id -1) are not brokers of the cluster; a window without
                // round trips has nothing to say.
                if (broker.Value.GetProperty("nodeid").GetInt32() < 0 || !broker.Value.TryGetProperty("rtt", out var rtt) || rtt.GetProperty("cnt").GetInt64() == 0)
                {
                    continue;
                }

                rtts.Add((broker.Value.GetProperty("nodeid").GetInt32().ToString(CultureInfo.InvariantCulture), rtt.GetProperty("avg").GetInt64() / 1e6, rtt.GetProperty("p99").GetInt64() / 1e6));
            }
        }

        var producer = root.TryGetProperty("type", out var type) && type.GetString() == "producer";
        long? queued = producer && root.TryGetProperty("msg_cnt", out var count) ? count.GetInt64() : null;
        return new KafkaClientFigures(client, lags, rtts, queued);
    }

    private IEnumerable<Measurement<long>> ObserveFetchLag() =>
        _clients.Values.SelectMany(c => c.FetchLags.Select(l => new Measurement<long>(l.Lag,
            new KeyValuePair<string, object?>("client", c.Client),
            new KeyValuePair<string, object?>("topic", l.Topic),
            new KeyValuePair<string, object?>("partition", l.Partition.ToString(CultureInfo.InvariantCulture)))));

    private IEnumerable<Measurement<double>> ObserveRtt() =>
        _clients.Values.SelectMany(c => c.BrokerRtts.SelectMany(r => new[]
        {
            new Measurement<double>(r.AvgSeconds, new("client", c.Client), new("broker", r.Broker), new("stat", "avg")),
            new Measurement<double>(r.P99Seconds, new("client", c.Client), new("broker", r.Broker), new("stat", "p99")),
        }));

    private IEnumerable<Measurement<long>> ObserveQueued() =>
        _clients.Values.Where(c => c.QueuedMessages is not null)
            .Select(c => new Measurement<long>(c.QueuedMessages!.Value, new KeyValuePair<string, object?>("client", c.Client)));
}
