namespace RecoCluster.Silo.Hosting;

/// <summary>
/// Where one partition's ingress stands, as the metrics collector reads it: written by the ingress grain (in its
/// turns), read from the collector's thread. Plain volatile fields: every value is read alone, and a gauge that is
/// one batch old is still right about what it reports.
/// </summary>
public sealed class PartitionProgress(int partition)
{
    private long _committed = -1;
    private long _highWatermark = -1;
    private long _pendingSinceMs;
    private volatile bool _blocked;

    public int Partition { get; } = partition;

    /// <summary>The checkpointed offset (-1 before the claim is read).</summary>
    public long Committed
    {
        get => Volatile.Read(ref _committed);
        set => Volatile.Write(ref _committed, value);
    }

    /// <summary>The partition's end as the reader last saw it (-1: unknown). Set by the ingress on each poll, so
    /// that the collector never calls into the Kafka client, which the grain may be disposing.</summary>
    public long HighWatermark
    {
        get => Volatile.Read(ref _highWatermark);
        set => Volatile.Write(ref _highWatermark, value);
    }

    /// <summary>When the batch in hand was cut, in Unix ms (0: no batch in hand).</summary>
    public long PendingSinceMs
    {
        get => Volatile.Read(ref _pendingSinceMs);
        set => Volatile.Write(ref _pendingSinceMs, value);
    }

    public bool Blocked
    {
        get => _blocked;
        set => _blocked = value;
    }

    /// <summary>Records past the checkpoint (0 while either end is unknown).</summary>
    public long Lag
    {
        get
        {
            var end = HighWatermark;
            var committed = Committed;
            return end < 0 || committed < 0 ? 0 : Math.Max(0, end - committed);
        }
    }

    public double PendingSeconds(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        var since = PendingSinceMs;
        return since == 0 ? 0 : Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() - since) / 1000.0;
    }
}
