using Microsoft.Extensions.Logging;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Runtime;

/// <summary>
/// The cluster-wide batch grain: one activation, on the silo that owns the single partition of the control
/// topic. It runs neighborhood rounds, on a timer and on request. A round is a row in the database that moves
/// counting → scoring → complete; the work is done by the owners of the item partitions (see
/// <see cref="RoundParticipant"/>), who each write one part per phase. The grain only watches the parts and moves
/// the round on once every partition has written its part, so:
/// <list type="bullet">
/// <item>a version is visible only when complete: silos load a version once the round says complete, and it says
/// so only when every partition's part is stored;</item>
/// <item>a round survives its grain: a new owner of the control partition finds the open round in the database
/// and carries on from the parts already written;</item>
/// <item>a grain that lost the control partition cannot move any round: every state change is conditional on its
/// epoch, in the same statement.</item>
/// </list>
/// </summary>
/// <remarks>Turn-based like every grain: <see cref="TickAsync"/> calls never overlap (one loop), and a request only
/// queues a waiter. Tests drive it by calling <see cref="TickAsync"/> with a manual clock.</remarks>
public sealed class NeighborhoodBatchGrain : IAsyncDisposable
{
    /// <summary>How often the grain looks at the round: bounds how long a finished phase waits for the next.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(200);

    private readonly GrainStore _store;
    private readonly string _controlTopic;
    private readonly long _epoch;
    private readonly string _siloId;
    private readonly Func<int> _partitions;
    private readonly NeighborhoodOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly List<Waiter> _waiters = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private bool _fenced;

    public NeighborhoodBatchGrain(GrainStore store, string controlTopic, long epoch, string siloId, Func<int> partitions, NeighborhoodOptions options, TimeProvider time, ILogger logger)
    {
        _store = store;
        _controlTopic = controlTopic;
        _epoch = epoch;
        _siloId = siloId;
        _partitions = partitions;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>The control partition epoch this activation holds.</summary>
    public long Epoch => _epoch;

    /// <summary>Starts the tick loop.</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Asks for a round and waits for it: the answer is the first round that *starts* after the request
    /// and completes (a round already running counted what it counted before the request, so it does not do).</summary>
    public async Task<RoundRow> RequestRoundAsync(CancellationToken ct)
    {
        var waiter = new Waiter(_time.GetUtcNow().ToUnixTimeMilliseconds());
        lock (_lock)
        {
            _waiters.Add(waiter);
        }

        using (ct.Register(() => waiter.Done.TrySetCanceled(ct)))
        {
            try
            {
                return await waiter.Done.Task.ConfigureAwait(false);
            }
            finally
            {
                lock (_lock)
                {
                    _waiters.Remove(waiter);
                }
            }
        }
    }

    /// <summary>One step: start a round when one is due or asked for, move the open round on when every
    /// partition has written its part of the current phase, abandon it when it has run too long.</summary>
    public async Task TickAsync(CancellationToken ct)
    {
        if (_fenced)
        {
            return;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var latest = await _store.LatestRoundAsync(ct).ConfigureAwait(false);
        if (latest is { IsOpen: true })
        {
            await AdvanceAsync(latest, now, ct).ConfigureAwait(false);
            return;
        }

        var partitions = _partitions();
        if (partitions <= 0)
        {
            return;
        }

        // An abandoned round starts over at once (it was due, or asked for); otherwise the timer decides.
        var due = (latest?.State == RoundStates.Abandoned)
            || (_options.RoundIntervalSeconds > 0 && (latest is null || now - latest.StartedMs >= _options.RoundIntervalSeconds * 1_000L));
        bool asked;
        long lastRequest;
        lock (_lock)
        {
            asked = _waiters.Count > 0;
            lastRequest = asked ? _waiters.Max(w => w.RequestedMs) : 0;
        }

        if (!due && !asked)
        {
            return;
        }

        // Strictly after every waiter's request, so those waiters are answered by this round.
        var started = Math.Max(now, Math.Max(lastRequest, latest?.StartedMs ?? 0) + 1);
        var round = new RoundRow((latest?.Version ?? 0) + 1, RoundStates.Counting, partitions, started, null, _siloId);
        if (!await _store.CreateRoundAsync(_controlTopic, _epoch, round, ct).ConfigureAwait(false))
        {
            Fenced();
            return;
        }

        _logger.LogInformation("Neighborhood round {Version} started ({Why}) over {Partitions} item partitions", round.Version, asked ? "requested" : "timer", partitions);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        lock (_lock)
        {
            foreach (var w in _waiters)
            {
                w.Done.TrySetException(new InvalidOperationException("this silo no longer hosts the batch grain; ask again (the new host carries the round on)"));
            }
        }

        _stop.Dispose();
    }

    private async Task AdvanceAsync(RoundRow round, long now, CancellationToken ct)
    {
        if (now - round.StartedMs > _options.RoundTimeoutSeconds * 1_000L)
        {
            if (await _store.AdvanceRoundAsync(_controlTopic, _epoch, round.Version, round.State, RoundStates.Abandoned, null, ct).ConfigureAwait(false))
            {
                _logger.LogWarning("Neighborhood round {Version} abandoned in state {State} after {Seconds} s; the next round starts over", round.Version, round.State, _options.RoundTimeoutSeconds);
            }
            else
            {
                Fenced();
            }

            return;
        }

        var phase = round.State == RoundStates.Counting ? RoundPhases.Counts : RoundPhases.Entries;
        var written = await _store.RoundPartsWrittenAsync(round.Version, phase, ct).ConfigureAwait(false);
        for (var p = 0; p < round.Partitions; p++)
        {
            if (!written.Contains(p))
            {
                return; // not every partition has answered yet
            }
        }

        var next = round.State == RoundStates.Counting ? RoundStates.Scoring : RoundStates.Complete;
        if (!await _store.AdvanceRoundAsync(_controlTopic, _epoch, round.Version, round.State, next, next == RoundStates.Complete ? now : null, ct).ConfigureAwait(false))
        {
            Fenced();
            return;
        }

        if (next != RoundStates.Complete)
        {
            return;
        }

        var completed = round with { State = RoundStates.Complete, CompletedMs = now };
        _logger.LogInformation("Neighborhood round {Version} complete in {Ms} ms", round.Version, now - round.StartedMs);
        lock (_lock)
        {
            foreach (var w in _waiters.Where(w => w.RequestedMs < round.StartedMs))
            {
                w.Done.TrySetResult(completed);
            }
        }

        // Keep this version and the complete one before it (silos that have not switched yet may still be loading
        // it); older rounds and their parts go.
        var previous = await _store.LatestCompleteRoundAsync(round.Version, ct).ConfigureAwait(false);
        if (previous is not null)
        {
            await _store.DeleteRoundsBelowAsync(previous.Version, ct).ConfigureAwait(false);
        }
    }

    private void Fenced()
    {
        _fenced = true;
        _logger.LogWarning("The batch grain at control epoch {Epoch} was fenced out: another silo hosts it now", _epoch);
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested && !_fenced)
        {
            try
            {
                await TickAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a failed tick (database away) is retried on the next one
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.LogWarning(ex, "Batch grain tick failed: {Reason}", ex.Message);
            }

            await Task.Delay(TickInterval, _time, _stop.Token).ConfigureAwait(false);
        }
    }

    private sealed class Waiter(long requestedMs)
    {
        public long RequestedMs { get; } = requestedMs;

        public TaskCompletionSource<RoundRow> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
