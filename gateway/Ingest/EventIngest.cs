using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Ingest;

/// <summary>One rejected element of an ingest request.</summary>
/// <param name="Index">Position in the request (0 for a single event).</param>
/// <param name="Error">What is wrong with it.</param>
public sealed record EventRejection(int Index, string Error);

/// <summary>The outcome of parsing an ingest body: the valid events, or why the body or some events fail.</summary>
public sealed record ParsedBatch(IReadOnlyList<ClickEvent> Events, IReadOnlyList<EventRejection> Rejections, string? BodyError);

/// <summary>
/// Parses ingest bodies and produces events to Kafka. A request is all or nothing: if any event is invalid none
/// is produced, so a producer can fix its batch and send it again without creating duplicates.
/// </summary>
public sealed class EventIngest : IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly string _topic;
    private readonly string _catalogTopic;
    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly ProducedPositions _produced;
    private readonly Meter _meter;
    private readonly Histogram<double> _produceDuration;

    public EventIngest(IOptions<KafkaOptions> kafka, IOptions<GatewayOptions> options, TimeProvider time, ProducedPositions produced, KafkaStatistics statistics, ILogger<EventIngest> logger)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _produced = produced;
        _topic = kafka.Value.Topics.Events;
        _catalogTopic = kafka.Value.Topics.Catalog;
        _producer = new ProducerBuilder<string, byte[]>(KafkaClientSettings.ReliableProducer(kafka.Value, $"reco-gateway-{Environment.ProcessId}"))
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka producer: {Reason}", e.Reason))
            .SetLogHandler((_, m) => logger.LogDebug("librdkafka: {Message}", m.Message))
            .SetStatisticsHandler((_, json) => statistics.Record(json))
            .Build();
        _meter = new Meter(RecoTelemetry.MeterName);
        _produceDuration = _meter.CreateHistogram<double>(
            "reco_ingest_produce_duration",
            "s",
            "Time from producing a request's events to Kafka's acknowledgement of all of them (acks=all), by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
    }

    /// <summary>Parses one event object or an array of them, checking each against the schema and the clock.</summary>
    public ParsedBatch Parse(ReadOnlySpan<byte> body)
    {
        var events = new List<ClickEvent>();
        var rejections = new List<EventRejection>();
        var now = _time.GetUtcNow();
        var window = new TimeWindow(
            _options.MaxEventAgeDays == 0 ? DateTimeOffset.MinValue : now.AddDays(-_options.MaxEventAgeDays),
            now.AddSeconds(_options.MaxClockSkewSeconds));
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read())
            {
                return new ParsedBatch(events, rejections, "the body is empty; send one event object or an array of them");
            }

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                var index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (index >= _options.MaxEventsPerRequest)
                    {
                        return new ParsedBatch([], [], $"too many events: at most {_options.MaxEventsPerRequest} per request");
                    }

                    ReadOne(ref reader, index++, window, events, rejections);
                }

                if (index == 0)
                {
                    return new ParsedBatch(events, rejections, "the array holds no events");
                }
            }
            else
            {
                ReadOne(ref reader, 0, window, events, rejections);
            }

            // In single-value mode the reader throws on anything but white space after the value.
            _ = reader.Read();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return new ParsedBatch([], [], $"malformed JSON: {ex.Message}");
        }

        return new ParsedBatch(events, rejections, null);
    }

    /// <summary>Produces the events and waits until Kafka has acknowledged every one (acks=all). Returns the
    /// position after them (per partition, the offset after its last event): a read carrying it reflects them.
    /// Throws <see cref="ProduceException{TKey,TValue}"/> or <see cref="KafkaException"/> when Kafka did not take them
    /// all within the producer's delivery timeout.</summary>
    public async Task<PositionToken?> ProduceAsync(IReadOnlyList<ClickEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        var started = _time.GetTimestamp();
        using var activity = RecoTelemetry.Source.StartActivity("reco.ingest.produce", ActivityKind.Producer);
        activity?.SetTag("reco.events", events.Count);
        var headers = TraceHeaders.FromCurrentActivity();
        var deliveries = new Task<DeliveryResult<string, byte[]>>[events.Count];
        var outcome = "error";
        try
        {
            for (var i = 0; i < events.Count; i++)
            {
                // Keyed by userId: Kafka's partitioner puts the event on its user's partition, whose ingress holds
                // the user.
                deliveries[i] = _producer.ProduceAsync(_topic, new Message<string, byte[]> { Key = events[i].UserId, Value = EventSchema.ToUtf8(events[i]), Headers = headers }, ct);
            }

            var delivered = await Task.WhenAll(deliveries);
            outcome = "ok";
            return Acknowledged(delivered);
        }
        finally
        {
            _produceDuration.Record(_time.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    private readonly record struct TimeWindow(DateTimeOffset Earliest, DateTimeOffset Latest);

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        _meter.Dispose();
    }

    /// <summary>Produces an erase command for <paramref name="userId"/> (see <see cref="EventCommands"/>) and waits
    /// for Kafka's acknowledgement. Keyed by the user, so it lands on the user's partition after every event
    /// produced before it. Throws like <see cref="ProduceAsync"/> when Kafka does not take it in time.</summary>
    public async Task<PositionToken?> ProduceEraseAsync(string userId, CancellationToken ct)
    {
        var headers = TraceHeaders.FromCurrentActivity() ?? new Headers();
        headers.Add(EventCommands.Header, Encoding.ASCII.GetBytes(EventCommands.Erase));
        return Acknowledged([await _producer.ProduceAsync(_topic, new Message<string, byte[]> { Key = userId, Value = EventCommands.EncodeErase(userId), Headers = headers }, ct)]);
    }

    // The position after acknowledged records, also remembered as this gateway's own (reads without a position
    // wait for what their gateway produced).
    private PositionToken? Acknowledged(IEnumerable<DeliveryResult<string, byte[]>> delivered)
    {
        var position = PositionToken.From(delivered.Select(d => KeyValuePair.Create(d.Partition.Value, d.Offset.Value + 1)));
        foreach (var (partition, after) in position?.Offsets ?? new Dictionary<int, long>())
        {
            _produced.Acknowledged(partition, after);
        }

        return position;
    }

    /// <summary>Produces a catalog entry (key = item id) and waits for Kafka's acknowledgement; every silo applies
    /// it as it reads the catalog topic. Throws like <see cref="ProduceAsync"/>.</summary>
    public async Task ProduceCatalogAsync(CatalogEntry entry, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _producer.ProduceAsync(_catalogTopic, new Message<string, byte[]> { Key = entry.ItemId, Value = CatalogSchema.Encode(entry) }, ct);
    }

    private static void ReadOne(ref Utf8JsonReader reader, int index, TimeWindow window, List<ClickEvent> events, List<EventRejection> rejections)
    {
        if (!EventSchema.TryRead(ref reader, out var evt, out var error))
        {
            rejections.Add(new EventRejection(index, error));
        }
        else if (evt.Timestamp > window.Latest)
        {
            rejections.Add(new EventRejection(index, $"field 'timestamp' ({evt.Timestamp:O}) is in the future beyond the allowed clock skew"));
        }
        else if (evt.Timestamp < window.Earliest)
        {
            rejections.Add(new EventRejection(index, $"field 'timestamp' ({evt.Timestamp:O}) is older than the accepted age (Reco:Gateway:MaxEventAgeDays)"));
        }
        else
        {
            events.Add(evt);
        }
    }
}
