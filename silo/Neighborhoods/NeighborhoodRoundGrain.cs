using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Neighborhoods;

/// <summary>
/// <see cref="INeighborhoodRoundGrain"/>: schedules rounds (its timer, and requests) and runs each with
/// <see cref="NeighborhoodRoundRunner"/>, one at a time (the grain is not reentrant, and its timer ticks in turns).
/// </summary>
/// <remarks>
/// A round is: claim the next version (a write of the grain's state, which fails on the ETag for an activation
/// that is not the latest), store every part, publish the version in one row, delete versions older than the
/// previous one. A silo that dies mid-round leaves unpublished parts, which nobody loads and a later round deletes;
/// the keeper's next call activates the grain elsewhere, and its timer starts the next round.
/// </remarks>
public sealed partial class NeighborhoodRoundGrain(
    [PersistentState("round", GrainStorageNames.Grains)] IPersistentState<PersistedRound> state,
    NeighborhoodRoundRunner runner,
    GrainStore store,
    IOptions<NeighborhoodOptions> options,
    TimeProvider time,
    ILocalSiloDetails silo,
    ILogger<NeighborhoodRoundGrain> logger) : Grain, INeighborhoodRoundGrain
{
    /// <summary>How often the timer checks whether a round is due.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(TickInterval, TickInterval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public async Task<long> EnsureRunningAsync()
    {
        try
        {
            return (await store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None))?.Version ?? 0;
        }
        catch (DbException e)
        {
            throw GroupCommitGrainStorage.StorageUnavailable(e, "reading the published versions");
        }
    }

    public async Task<RebuildResult> RebuildAsync()
    {
        try
        {
            return await RunRoundAsync("requested", CancellationToken.None);
        }
        catch (DbException e)
        {
            throw GroupCommitGrainStorage.StorageUnavailable(e, "running a neighborhood round");
        }
    }

    private async Task TickAsync(CancellationToken ct)
    {
        var interval = options.Value.RoundIntervalSeconds;
        if (interval <= 0 || time.GetUtcNow().ToUnixTimeMilliseconds() - state.State.LastStartedMs < interval * 1_000L)
        {
            return;
        }

        try
        {
            await RunRoundAsync("timer", ct);
        }
        catch (Exception e) when (e is not InconsistentStateException)
        {
            // The database may be away: the next tick tries again (the round was not published).
            LogRoundFailed(e.Message);
        }
    }

    private async Task<RebuildResult> RunRoundAsync(string why, CancellationToken ct)
    {
        var latest = await store.LatestRoundAsync(ct);
        var version = Math.Max(state.State.LastClaimed, latest?.Version ?? 0) + 1;
        var started = time.GetUtcNow().ToUnixTimeMilliseconds();
        state.State.LastClaimed = version;
        state.State.LastStartedMs = started;
        try
        {
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException)
        {
            // Another activation claimed a version since this one read its state: it is the round grain now.
            LogSuperseded(version);
            DeactivateOnIdle();
            throw;
        }

        LogStarted(version, why);
        // On the thread pool, not in the grain's turn: the store's SQLite calls complete synchronously, so the
        // whole round (seconds at a large catalog) would otherwise run on this activation's scheduler thread, and
        // the keeper's interleaving calls would wait behind it.
        var parts = await Task.Run(() => runner.ComputeAsync(version, started, ct), ct);
        var completed = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!await store.PublishRoundAsync(new RoundRow(version, RoundStates.Complete, parts, started, completed, silo.Name), ct))
        {
            throw new InvalidOperationException($"neighborhood version {version} was published by another activation");
        }

        LogPublished(version, completed - started);

        // Keep this version and the one before it (silos that have not switched yet may still be loading it).
        if (await store.LatestCompleteRoundAsync(version, ct) is { } previous)
        {
            await store.DeleteRoundsBelowAsync(previous.Version, ct);
        }

        return new RebuildResult(version, DateTimeOffset.FromUnixTimeMilliseconds(started), DateTimeOffset.FromUnixTimeMilliseconds(completed), parts);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Neighborhood round {Version} started ({Why})")]
    private partial void LogStarted(long version, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Neighborhood version {Version} published after {Ms} ms")]
    private partial void LogPublished(long version, long ms);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Neighborhood round {Version} not started: another activation of the round grain claimed a version since")]
    private partial void LogSuperseded(long version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Neighborhood round failed; the next tick tries again: {Reason}")]
    private partial void LogRoundFailed(string reason);
}
