namespace RecoCluster.Cluster.Telemetry;

/// <summary>The figures kept from one client's latest statistics.</summary>
/// <param name="Client">librdkafka's instance name (<c>ingress-3#consumer-12</c>): unique in the process.</param>
/// <param name="FetchLags">Per assigned partition, records past what the consumer has read.</param>
/// <param name="BrokerRtts">Per broker (node id), the average and 99th percentile round trip, in seconds.</param>
/// <param name="QueuedMessages">A producer's queued messages; null for a consumer.</param>
public sealed record KafkaClientFigures(
    string Client,
    IReadOnlyList<(string Topic, int Partition, long Lag)> FetchLags,
    IReadOnlyList<(string Broker, double AvgSeconds, double P99Seconds)> BrokerRtts,
    long? QueuedMessages);
