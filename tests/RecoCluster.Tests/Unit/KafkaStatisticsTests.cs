using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Cluster.Telemetry;

namespace RecoCluster.Tests.Unit;

/// <summary>librdkafka's statistics JSON turned into the reco_kafka_* gauges.</summary>
public sealed class KafkaStatisticsTests : IDisposable
{
    // The shape librdkafka reports (STATISTICS.md), trimmed to what is read, with the entries it must skip: the
    // bootstrap broker (node id -1), a broker without round trips, and the internal partition -1; partition 5 has
    // handed over nothing yet.
    private const string Consumer = """
        {"name":"ingress-3#consumer-7","type":"consumer","msg_cnt":0,
         "brokers":{
           "127.0.0.1:9092/bootstrap":{"nodeid":-1,"rtt":{"avg":0,"p99":0,"cnt":0}},
           "127.0.0.1:9092/1":{"nodeid":1,"rtt":{"avg":1500,"p99":4200,"cnt":12}},
           "127.0.0.1:9093/2":{"nodeid":2,"rtt":{"avg":0,"p99":0,"cnt":0}}},
         "topics":{"reco.events":{"partitions":{
           "3":{"partition":3,"hi_offset":1200,"app_offset":1150,"consumer_lag":-1},
           "5":{"partition":5,"hi_offset":900,"app_offset":-1001,"next_offset":880,"consumer_lag":-1},
           "-1":{"partition":-1,"hi_offset":-1,"app_offset":-1,"consumer_lag":-1}}}}}
        """;

    private const string Producer = """
        {"name":"reco-gateway-42#producer-1","type":"producer","msg_cnt":17,"brokers":{},"topics":{}}
        """;

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    [Fact]
    public void A_consumers_statistics_give_its_fetch_lag_per_partition_and_its_round_trips_per_broker()
    {
        var figures = KafkaStatistics.Parse(Consumer)!;

        Assert.Equal("ingress-3#consumer-7", figures.Client);
        Assert.Equal([("reco.events", 3, 50L), ("reco.events", 5, 20L)], figures.FetchLags);
        Assert.Equal([("1", 0.0015, 0.0042)], figures.BrokerRtts);
        Assert.Null(figures.QueuedMessages);
        Assert.Equal(17, KafkaStatistics.Parse(Producer)!.QueuedMessages);
    }

    [Fact]
    public void The_gauges_show_each_clients_latest_figures_until_it_is_forgotten()
    {
        var statistics = new KafkaStatistics(_services.GetRequiredService<IMeterFactory>());
        statistics.Record(Consumer);
        statistics.Record(Consumer.Replace("\"app_offset\":1150", "\"app_offset\":1190", StringComparison.Ordinal));
        statistics.Record(Producer);
        statistics.Record("{ not json");
        statistics.Record("""{"name":"odd#consumer-1","topics":{"t":{"partitions":{"0":{"partition":"zero"}}}}}""");
        statistics.Record("""{"name":"odd#consumer-2","brokers":{"b":{"rtt":{}}}}""");

        var seen = Observe();
        Assert.Equal([10.0, 20.0], seen.Where(m => m.Name == "reco_kafka_fetch_lag").Select(m => m.Value).Order());
        Assert.Equal([0.0015, 0.0042], seen.Where(m => m.Name == "reco_kafka_broker_rtt").Select(m => m.Value).Order());
        Assert.Equal(17, Assert.Single(seen, m => m.Name == "reco_kafka_queued_messages").Value);

        statistics.Forget("ingress-3#consumer-7");
        Assert.DoesNotContain(Observe(), m => m.Name is "reco_kafka_fetch_lag" or "reco_kafka_broker_rtt");
    }

    public void Dispose() => _services.Dispose();

    private static List<(string Name, double Value)> Observe()
    {
        var seen = new List<(string Name, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RecoTelemetry.MeterName && instrument.Name.StartsWith("reco_kafka_", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => seen.Add((i.Name, v)));
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => seen.Add((i.Name, v)));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }
}
