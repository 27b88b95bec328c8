namespace RecoCluster.Silo.Runtime;

/// <summary>Counters of one silo process, read by the admin and metrics endpoints.</summary>
public sealed class SiloStats
{
    private long _consumed;
    private long _applied;
    private long _invalid;
    private long _checkpoints;
    private long _fencingViolations;
    private long _userActivations;
    private long _itemActivations;
    private long _deactivations;
    private long _deltaBatchesSent;
    private long _deltaBatchesApplied;
    private long _duplicateBatchesDropped;
    private long _lastCheckpointTicks;
    private long _pauses;

    public long Consumed => Interlocked.Read(ref _consumed);

    public long Applied => Interlocked.Read(ref _applied);

    public long Invalid => Interlocked.Read(ref _invalid);

    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Checkpoints refused because another silo had claimed the partition. Any non-zero value means two
    /// silos processed one partition at the same time for a while (their effects were discarded, not doubled).</summary>
    public long FencingViolations => Interlocked.Read(ref _fencingViolations);

    public long Activations => UserActivations + ItemActivations;

    public long UserActivations => Interlocked.Read(ref _userActivations);

    public long ItemActivations => Interlocked.Read(ref _itemActivations);

    public long Deactivations => Interlocked.Read(ref _deactivations);

    /// <summary>Shuffle messages produced (re-sends included).</summary>
    public long DeltaBatchesSent => Interlocked.Read(ref _deltaBatchesSent);

    public long DeltaBatchesApplied => Interlocked.Read(ref _deltaBatchesApplied);

    /// <summary>Shuffle messages dropped at the watermark: re-sends after a crash or a handover.</summary>
    public long DuplicateBatchesDropped => Interlocked.Read(ref _duplicateBatchesDropped);

    /// <summary>Times a partition's fetching was paused because its worker had fallen behind (backpressure).</summary>
    public long Pauses => Interlocked.Read(ref _pauses);

    /// <summary>Duration of the latest checkpoint transaction.</summary>
    public TimeSpan LastCheckpointDuration => TimeSpan.FromTicks(Interlocked.Read(ref _lastCheckpointTicks));

    internal void OnConsumed() => Interlocked.Increment(ref _consumed);

    internal void OnApplied() => Interlocked.Increment(ref _applied);

    internal void OnInvalid() => Interlocked.Increment(ref _invalid);

    /// <summary>Called after every committed checkpoint with its duration (the metrics histogram).</summary>
    internal Action<TimeSpan>? CheckpointObserver { get; set; }

    internal void OnCheckpoint(TimeSpan duration)
    {
        Interlocked.Increment(ref _checkpoints);
        Interlocked.Exchange(ref _lastCheckpointTicks, duration.Ticks);
        CheckpointObserver?.Invoke(duration);
    }

    internal void OnFencingViolation() => Interlocked.Increment(ref _fencingViolations);

    internal void OnUserActivation() => Interlocked.Increment(ref _userActivations);

    internal void OnItemActivation() => Interlocked.Increment(ref _itemActivations);

    internal void OnPaused() => Interlocked.Increment(ref _pauses);

    internal void OnDeactivations(int count) => Interlocked.Add(ref _deactivations, count);

    internal void OnDeltaBatchSent() => Interlocked.Increment(ref _deltaBatchesSent);

    internal void OnDeltaBatchApplied() => Interlocked.Increment(ref _deltaBatchesApplied);

    internal void OnDuplicateBatchDropped() => Interlocked.Increment(ref _duplicateBatchesDropped);
}
