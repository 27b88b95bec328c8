using Confluent.Kafka;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;

namespace RecoCluster.Silo.Hosting;

/// <summary>
/// Asks the Kafka cluster for the events topic's metadata, for <c>/readyz</c>: a silo whose brokers do not answer
/// reads nothing, and says so by name rather than look ready.
/// </summary>
/// <remarks>
/// It shares the silo's producer connection (a dependent admin client) rather than opening a client per probe:
/// each librdkafka client is its own threads and broker connections, and probes come every few seconds.
/// </remarks>
public sealed class KafkaProbe(IProducer<byte[]?, byte[]?> producer, IOptions<KafkaOptions> kafka) : IDisposable
{
    private readonly Lazy<IAdminClient> _admin = new(() => new DependentAdminClientBuilder(producer.Handle).Build());

    /// <summary>Null when a broker answered for the events topic within <paramref name="timeout"/>; otherwise why
    /// not. Blocks for up to the timeout.</summary>
    public string? Problem(TimeSpan timeout)
    {
        var topic = kafka.Value.Topics.Events;
        try
        {
            var metadata = _admin.Value.GetMetadata(topic, timeout);
            var found = metadata.Topics.FirstOrDefault(t => t.Topic == topic);
            return found is { Error.Code: Confluent.Kafka.ErrorCode.NoError }
                ? null
                : $"Kafka does not know the events topic {topic} ({found?.Error.Reason ?? "not in the metadata"})";
        }
        catch (KafkaException e)
        {
            return $"Kafka did not answer within {timeout.TotalSeconds:0} s: {e.Error.Reason}";
        }
    }

    public void Dispose()
    {
        if (_admin.IsValueCreated)
        {
            _admin.Value.Dispose();
        }
    }
}
