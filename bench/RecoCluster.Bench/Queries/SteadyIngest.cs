using System.Diagnostics;
using Confluent.Kafka;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Bench.Queries;

/// <summary>
/// Events produced to the events topic at a fixed rate while queries are measured, because a store queries its
/// cluster while the clickstream keeps arriving: silos answer between applying events, and that is the latency
/// worth knowing. One thread produces, every millisecond or so, the events due by then; Kafka's acknowledgements
/// are counted, so the report gives the rate actually delivered, not the one asked for.
/// </summary>
public sealed class SteadyIngest : IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly string _topic;
    private readonly Workload _workload;
    private readonly int _rate;
    private readonly Thread _thread;
    private readonly long _firstSequence;
    private volatile bool _stop;
    private long _delivered;
    private long _failed;
    private long _started;
    private long _stopped;

    public SteadyIngest(string bootstrapServers, string topic, Workload workload, int rate, long firstSequence)
    {
        _topic = topic;
        _workload = workload;
        _rate = rate;
        _firstSequence = firstSequence;
        _producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            LingerMs = 5,
            Partitioner = Partitioner.Murmur2Random,
        }).Build();
        _thread = new Thread(Run) { IsBackground = true, Name = "steady ingest" };
    }

    /// <summary>Events Kafka acknowledged so far.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Events refused locally (queue full) or not acknowledged.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    public void Start()
    {
        if (_rate > 0)
        {
            _thread.Start();
        }
    }

    /// <summary>Stops producing, waits for the outstanding acknowledgements, and gives the delivered rate over
    /// the time it ran.</summary>
    public IngestMeasurement Stop()
    {
        if (_rate <= 0)
        {
            return new IngestMeasurement(0, 0, 0, 0);
        }

        _stop = true;
        _thread.Join();
        _producer.Flush(TimeSpan.FromSeconds(10));
        var seconds = (double)(_stopped - _started) / Stopwatch.Frequency;
        return new IngestMeasurement(_rate, Delivered, Failed, seconds > 0 ? Delivered / seconds : 0);
    }

    /// <summary>Stops the thread before the producer goes: a run that failed half-way leaves it producing, and
    /// a producer disposed under it would throw on a background thread, which ends the process.</summary>
    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        _producer.Dispose();
    }

    private void Run()
    {
        var random = new Random(7);
        _started = Stopwatch.GetTimestamp();
        long produced = 0;
        while (!_stop)
        {
            var due = (long)((double)(Stopwatch.GetTimestamp() - _started) / Stopwatch.Frequency * _rate);
            for (; produced < due && !_stop; produced++)
            {
                var evt = _workload.Event(random, _firstSequence + produced, DateTimeOffset.UtcNow);
                try
                {
                    _producer.Produce(_topic, new Message<string, byte[]> { Key = evt.UserId, Value = EventSchema.ToUtf8(evt) }, OnDelivery);
                }
                catch (ProduceException<string, byte[]>)
                {
                    // Local queue full: the broker is behind. Counted, not retried, so the schedule stays fixed.
                    Interlocked.Increment(ref _failed);
                }
            }

            Thread.Sleep(1);
        }

        _stopped = Stopwatch.GetTimestamp();
    }

    private void OnDelivery(DeliveryReport<string, byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failed);
        }
        else
        {
            Interlocked.Increment(ref _delivered);
        }
    }
}

/// <summary>What the background ingest did during one run.</summary>
/// <param name="OfferedEventsPerSecond">The rate asked for.</param>
/// <param name="Delivered">Events Kafka acknowledged.</param>
/// <param name="Failed">Events refused or not acknowledged.</param>
/// <param name="AchievedEventsPerSecond">Acknowledged events per second of producing.</param>
/// <param name="SiloAppliedEventsPerSecond">Events the silo stored on both the user and the item side (its
/// ingresses' checkpoints) per second over the same time.</param>
/// <param name="SiloBacklogAtEnd">Events in Kafka the silo had not stored on both sides yet when producing
/// stopped.</param>
public sealed record IngestMeasurement(
    int OfferedEventsPerSecond,
    long Delivered,
    long Failed,
    double AchievedEventsPerSecond,
    double SiloAppliedEventsPerSecond = 0,
    long SiloBacklogAtEnd = 0);
