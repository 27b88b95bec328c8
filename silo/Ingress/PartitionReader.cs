using System.Threading.Channels;
using Confluent.Kafka;

namespace RecoCluster.Silo.Ingress;

/// <summary>
/// What one events partition's ingress reads: the records its silo's Kafka consumer (<see cref="PartitionReaders"/>)
/// fetched for the partition from a given offset, in log order, held up to a limit that moves while it runs. The
/// ingress grain takes batches from <see cref="Records"/> in its turns.
/// </summary>
/// <remarks>
/// Backpressure without a thread per partition: a partition holding its limit is taken off the silo's consumer,
/// which keeps reading the others, and put back at the next offset to hold once its ingress has taken records. Off
/// and on, not Kafka's pause and resume: librdkafka resumes a partition without waking the thread that fetches it,
/// so a broker whose every partition was paused fetched again only after its idle second; an assigned partition
/// starts fetching at once. Either way librdkafka drops what it had fetched for the partition, and a record at an
/// offset already held (a fetch under way at the time) is dropped here, so nothing is held twice or skipped.
/// </remarks>
public sealed class PartitionReader
{
    private readonly PartitionReaders _owner;
    // Never full: the one thread that fills every partition's buffer must never wait on one of them (that would stall
    // the others); the limit is kept by taking the partition off the consumer as the record that reaches it is held,
    // and librdkafka drops what it had fetched beyond. A bounded channel at the largest capacity rather than an
    // unbounded one: it keeps its records in one growing array and counts them cheaply, where the unbounded form
    // that can count is a queue of segments for many readers.
    private readonly Channel<ConsumeResult<byte[]?, byte[]?>> _buffer =
        Channel.CreateBounded<ConsumeResult<byte[]?, byte[]?>>(new BoundedChannelOptions(int.MaxValue) { SingleReader = true, SingleWriter = true });
    // Guards whether the partition is on the consumer, so that taking it off (on the consumer's thread) and putting
    // it back (on the ingress's) reach the consumer in the order they were decided.
    private readonly Lock _gate = new();
    private readonly int _capacity;
    private volatile int _limit;
    private bool _assigned = true;
    private bool _stopped;
    // The next offset to hold; written on the consumer's thread only, read where the partition is put back.
    private long _next;
    private volatile string? _outOfRange;

    internal PartitionReader(PartitionReaders owner, TopicPartition partition, long startOffset, int capacity, int limit)
    {
        _owner = owner;
        Partition = partition;
        _next = startOffset;
        _capacity = Math.Max(1, capacity);
        _limit = Math.Clamp(limit, 1, _capacity);
    }

    /// <summary>The events partition this reader holds records of.</summary>
    public TopicPartition Partition { get; }

    /// <summary>The buffered records, in log order.</summary>
    public ChannelReader<ConsumeResult<byte[]?, byte[]?>> Records => _buffer.Reader;

    /// <summary>The most records the reader holds read ahead now (at most its capacity): the ingress lowers it when
    /// its silo takes on more partitions (<see cref="IngressMemoryBudget"/>). Records already held above a lowered
    /// limit stay; the partition is read on once fewer are held.</summary>
    public int Limit
    {
        get => _limit;
        set
        {
            var raised = value > _limit;
            _limit = Math.Clamp(value, 1, _capacity);
            if (raised)
            {
                ResumeIfRoom();
            }
        }
    }

    /// <summary>Says that records were taken from <see cref="Records"/>, so a partition held at its limit is read on.</summary>
    public void Took() => ResumeIfRoom();

    /// <summary>Set when the broker said the start offset is outside the log; nothing more is read for it.</summary>
    public string? OutOfRange => _outOfRange;

    /// <summary>Asks the broker for the partition's first offset and end of log (blocks up to
    /// <paramref name="timeout"/>).</summary>
    public (long Start, long End) QueryLog(TimeSpan timeout) => _owner.QueryLog(Partition, timeout);

    /// <summary>The partition's end of log as last reported by the broker (-1 until known).</summary>
    public long HighWatermark => _owner.HighWatermark(Partition);

    // On the consumer's thread: holds a record of this partition, and takes the partition off the consumer once it
    // holds its limit.
    internal void Hold(ConsumeResult<byte[]?, byte[]?> record)
    {
        var offset = record.Offset.Value;
        if (offset < _next)
        {
            return;
        }

        Volatile.Write(ref _next, offset + 1);
        _buffer.Writer.TryWrite(record);
        if (_buffer.Reader.Count >= _limit)
        {
            lock (_gate)
            {
                if (_assigned && !_stopped && _buffer.Reader.Count >= _limit)
                {
                    _assigned = false;
                    _owner.Unassign(Partition);
                }
            }
        }
    }

    // On the consumer's thread: the broker refused the start offset.
    internal void Fail(string reason) => _outOfRange = reason;

    // The reader stops: the partition comes off the consumer for good, and the buffer ends with what it holds.
    internal void Complete()
    {
        lock (_gate)
        {
            if (!_stopped)
            {
                _stopped = true;
                if (_assigned)
                {
                    _assigned = false;
                    _owner.Unassign(Partition);
                }
            }
        }

        _buffer.Writer.TryComplete();
    }

    private void ResumeIfRoom()
    {
        if (_buffer.Reader.Count >= _limit)
        {
            return;
        }

        lock (_gate)
        {
            if (!_assigned && !_stopped && _buffer.Reader.Count < _limit)
            {
                _assigned = _owner.TryAssign(Partition, Volatile.Read(ref _next));
            }
        }
    }
}
