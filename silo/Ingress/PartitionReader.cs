using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RecoCluster.Cluster;
using RecoCluster.Cluster.Telemetry;

namespace RecoCluster.Silo.Ingress;

/// <summary>
/// Reads one events partition from a given offset on a thread of its own and buffers what it read (bounded). The
/// ingress grain takes batches from the buffer in its turns.
/// </summary>
/// <remarks>
/// Why a thread: librdkafka's <c>Consume</c> blocks, and a grain turn must not. Why no consumer group: the
/// partition's position lives in the checkpoint store with the state it produced, and which silo reads which
/// partition is Orleans' placement of the ingress grain; a group would be a second, competing membership.
/// </remarks>
public sealed partial class PartitionReader : IDisposable
{
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly Channel<ConsumeResult<byte[]?, byte[]?>> _buffer;
    // Set when the ingress has taken records, so that a reader waiting for room below its limit looks again.
    private readonly ManualResetEventSlim _room = new(false);
    private readonly int _capacity;
    private volatile int _limit;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly string _topic;
    private readonly int _partition;
    private readonly KafkaStatistics _statistics;
    private readonly string _clientName;

    /// <summary>Starts reading <paramref name="partition"/> of the events topic at <paramref name="startOffset"/>
    /// (the log's start if negative), holding at most <paramref name="capacity"/> records, and at first at most
    /// <paramref name="limit"/> (<see cref="Limit"/>, which moves while it runs).</summary>
    public PartitionReader(KafkaOptions kafka, int partition, long startOffset, int capacity, int limit, KafkaStatistics statistics, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(statistics);
        _statistics = statistics;
        _logger = logger;
        _topic = kafka.Topics.Events;
        _partition = partition;
        var config = KafkaClientSettings.Consumer(kafka, $"{kafka.TopicPrefix}.ingress", $"ingress-{partition}");
        // An idle partition answers a fetch only when this wait ends, so it bounds how long a lone event waits.
        config.FetchWaitMaxMs = 20;
        config.QueuedMaxMessagesKbytes = 16_384;
        // A position outside the log is an error, never a silent jump to its start: a stored position past the end
        // means the log was reset (or the database belongs to another Kafka), and reading from the start would
        // cut batches the grains have already stored, and drop every new event as a replay.
        config.AutoOffsetReset = AutoOffsetReset.Error;
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => LogKafkaError(e.Reason))
            .SetStatisticsHandler((_, json) => statistics.Record(json))
            .Build();
        // Read now: a closed consumer's handle no longer has a name.
        _clientName = _consumer.Name;
        var offset = startOffset >= 0 ? new Offset(startOffset) : Offset.Beginning;
        _consumer.Assign(new TopicPartitionOffset(_topic, partition, offset));
        _capacity = capacity;
        _limit = Math.Clamp(limit, 1, capacity);
        _buffer = Channel.CreateBounded<ConsumeResult<byte[]?, byte[]?>>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        _thread = new Thread(Run) { IsBackground = true, Name = $"ingress-{partition}" };
        _thread.Start();
    }

    /// <summary>The buffered records, in log order.</summary>
    public ChannelReader<ConsumeResult<byte[]?, byte[]?>> Records => _buffer.Reader;

    /// <summary>The most records the reader holds read ahead now (at most its capacity): the ingress lowers it when
    /// its silo takes on more partitions (<see cref="IngressMemoryBudget"/>). Records already held above a lowered
    /// limit stay; the reader waits until fewer are held.</summary>
    public int Limit
    {
        get => _limit;
        set
        {
            var raised = value > _limit;
            _limit = Math.Max(1, value);
            if (raised)
            {
                _room.Set(); // a waiting reader goes on now
            }
        }
    }

    /// <summary>Says that records were taken from <see cref="Records"/>, so a reader held at its limit reads on.</summary>
    public void Took() => _room.Set();

    /// <summary>Set when the broker said the start offset is outside the log; the reader has stopped.</summary>
    public string? OutOfRange { get; private set; }

    /// <summary>Asks the broker for the partition's first offset and end of log (blocks up to
    /// <paramref name="timeout"/>).</summary>
    public (long Start, long End) QueryLog(TimeSpan timeout)
    {
        var offsets = _consumer.QueryWatermarkOffsets(new TopicPartition(_topic, _partition), timeout);
        return (offsets.Low.Value, offsets.High.Value);
    }

    /// <summary>The partition's end of log as last reported by the broker (-1 until known).</summary>
    public long HighWatermark
    {
        get
        {
            try
            {
                return _consumer.GetWatermarkOffsets(new TopicPartition(_topic, _partition)).High.Value;
            }
            catch (KafkaException)
            {
                return -1;
            }
        }
    }

    private void Run()
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?>? record;
                try
                {
                    record = _consumer.Consume(100);
                }
                catch (ConsumeException e) when (e.Error.Code is Confluent.Kafka.ErrorCode.Local_AutoOffsetReset or Confluent.Kafka.ErrorCode.OffsetOutOfRange)
                {
                    OutOfRange = e.Error.Reason;
                    LogOutOfRange(_partition, e.Error.Reason);
                    return;
                }
                catch (ConsumeException e)
                {
                    LogKafkaError(e.Error.Reason);
                    continue;
                }

                if (record is null || record.IsPartitionEOF)
                {
                    continue;
                }

                // Blocking here is the backpressure: a full buffer stops the reading, and the log keeps the rest.
                // The limit below the channel's capacity is waited out on an event set when records are taken or
                // the limit is raised; reset before the check, so no signal is lost between the two, and no timeout
                // is needed. At its full capacity the channel's own bound is the limit, and the count (taken under
                // the channel's lock) is not read for every record.
                while (_limit < _capacity && _buffer.Reader.Count >= _limit)
                {
                    _room.Reset();
                    if (_buffer.Reader.Count >= _limit)
                    {
                        _room.Wait(token);
                    }
                }

                while (!_buffer.Writer.TryWrite(record))
                {
                    _buffer.Writer.WaitToWriteAsync(token).AsTask().GetAwaiter().GetResult();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _buffer.Writer.TryComplete();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _consumer.Close();
        _consumer.Dispose();
        _statistics.Forget(_clientName);
        _stop.Dispose();
        _room.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Events partition {Partition}: the start position is outside the log ({Reason}); the reader stopped")]
    private partial void LogOutOfRange(int partition, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka error while reading events: {Reason}")]
    private partial void LogKafkaError(string reason);
}
