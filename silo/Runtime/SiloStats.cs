namespace RecoCluster.Silo.Runtime;

/// <summary>Counters of one silo process, read by the admin and metrics endpoints.</summary>
public sealed class SiloStats
{
    private long _consumed;
    private long _applied;
    private long _invalid;
    private long _checkpoints;
    private long _fencingViolations;
    private long _activations;

    public long Consumed => Interlocked.Read(ref _consumed);

    public long Applied => Interlocked.Read(ref _applied);

    public long Invalid => Interlocked.Read(ref _invalid);

    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Checkpoints refused because another silo had claimed the partition. Any non-zero value means two
    /// silos processed one partition at the same time for a while (their effects were discarded, not doubled).</summary>
    public long FencingViolations => Interlocked.Read(ref _fencingViolations);

    public long Activations => Interlocked.Read(ref _activations);

    internal void OnConsumed() => Interlocked.Increment(ref _consumed);

    internal void OnApplied() => Interlocked.Increment(ref _applied);

    internal void OnInvalid() => Interlocked.Increment(ref _invalid);

    internal void OnCheckpoint() => Interlocked.Increment(ref _checkpoints);

    internal void OnFencingViolation() => Interlocked.Increment(ref _fencingViolations);

    internal void OnActivation() => Interlocked.Increment(ref _activations);
}
