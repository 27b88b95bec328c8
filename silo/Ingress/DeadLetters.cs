using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace RecoCluster.Silo.Ingress;

/// <summary>
/// Sends records that are not valid events to the dead-letter topic, with the reason and their origin in
/// headers, keeping key and value byte for byte. Delivery is awaited before the partition checkpoints past the
/// record, so a bad record is never dropped silently (a replay may send it twice: the DLQ is at-least-once).
/// </summary>
public sealed class DeadLetters(IProducer<byte[]?, byte[]?> producer, string topic)
{
    public const string ReasonHeader = "reco-error";
    public const string SourceTopicHeader = "reco-source-topic";
    public const string SourcePartitionHeader = "reco-source-partition";
    public const string SourceOffsetHeader = "reco-source-offset";

    public Task<DeliveryResult<byte[]?, byte[]?>> SendAsync(ConsumeResult<byte[]?, byte[]?> record, string reason)
    {
        ArgumentNullException.ThrowIfNull(record);
        var headers = new Headers
        {
            { ReasonHeader, Encoding.UTF8.GetBytes(reason) },
            { SourceTopicHeader, Encoding.UTF8.GetBytes(record.Topic) },
            { SourcePartitionHeader, Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
            { SourceOffsetHeader, Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)) },
        };
        return producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = record.Message.Key, Value = record.Message.Value, Headers = headers });
    }
}
