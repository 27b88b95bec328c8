using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Grains.Catalog;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Silo.Serving;

/// <summary>
/// Follows the catalog topic into this silo's <see cref="ItemCatalog"/>: reads it from the beginning (it is
/// compacted, so that is one record per item), then every change as it comes. Assigned, not subscribed: every
/// silo reads every record.
/// </summary>
public sealed class CatalogReader(ItemCatalog catalog, IOptions<KafkaOptions> kafka, ILogger<CatalogReader> logger) : BackgroundService
{
    private readonly KafkaOptions _kafka = kafka.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Applies one record. Public for tests of the rules: a tombstone removes the item, a record whose
    /// key is not its itemId or that does not parse is ignored (and logged).</summary>
    public bool Apply(byte[]? key, byte[]? value)
    {
        var itemId = key is null ? null : Encoding.UTF8.GetString(key);
        if (itemId is null)
        {
            return false;
        }

        if (value is null)
        {
            catalog.Remove(itemId);
            return true;
        }

        CatalogEntry? entry;
        try
        {
            entry = CatalogSchema.Decode(value);
        }
        catch (JsonException ex)
        {
            logger.LogWarning("Ignoring a malformed catalog record for '{Item}': {Reason}", itemId, ex.Message);
            return false;
        }

        if (entry is null || !string.Equals(entry.ItemId, itemId, StringComparison.Ordinal))
        {
            logger.LogWarning("Ignoring a catalog record whose itemId is not its key '{Item}'", itemId);
            return false;
        }

        catalog.Upsert(new CatalogItem(
            itemId,
            entry.Category,
            entry.Tags ?? [],
            entry.Price,
            entry.Available ?? true,
            entry.UpdatedAt ?? DateTimeOffset.UnixEpoch));
        return true;
    }

    private void Run(CancellationToken stoppingToken)
    {
        var config = KafkaClientSettings.Consumer(_kafka, $"{_kafka.TopicPrefix}.catalog-readers", $"reco-catalog-{Environment.ProcessId}");
        try
        {
            using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
                .SetErrorHandler((_, e) => logger.LogWarning("Catalog reader: {Reason}", e.Reason))
                .SetLogHandler((_, _) => { })
                .Build();
            consumer.Assign(new TopicPartitionOffset(_kafka.Topics.Catalog, 0, Offset.Beginning));
            while (!stoppingToken.IsCancellationRequested)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is { IsPartitionEOF: false, Message: not null })
                {
                    Apply(result.Message.Key, result.Message.Value);
                }
            }

            consumer.Close();
        }
        catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
        {
            logger.LogError(ex, "The catalog reader stopped; availability and content similarity no longer follow the catalog");
        }
    }
}
