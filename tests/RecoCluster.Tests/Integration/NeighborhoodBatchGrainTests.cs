using Microsoft.Extensions.Logging.Abstractions;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Silo.Runtime;
using RecoCluster.Silo.Storage;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// The batch grain driven by hand: its ticks called directly, a manual clock, the participants' parts written
/// straight into a real SQLite store. No Kafka, no sleeps.
/// </summary>
public sealed class NeighborhoodBatchGrainTests : IAsyncLifetime
{
    private const string Control = "t.control";
    private const string Items = "t.item-deltas";
    private const int Partitions = 3;
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
    private readonly NeighborhoodOptions _options = new() { RoundIntervalSeconds = 60, RoundTimeoutSeconds = 30 };
    private readonly Dictionary<int, long> _itemEpochs = [];
    private GrainStore _store = null!;

    public async Task InitializeAsync()
    {
        var storage = TestDatabases.NewSqlite();
        _store = GrainStore.Open(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString });
        await _store.MigrateAsync(CancellationToken.None);
        for (var p = 0; p < Partitions; p++)
        {
            _itemEpochs[p] = (await _store.ClaimAsync(Items, p, "participant", CancellationToken.None)).Epoch;
        }
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task A_round_moves_on_only_when_every_partition_has_written_its_part()
    {
        var grain = await HostAsync("a");
        await grain.TickAsync(CancellationToken.None);
        var round = (await _store.LatestRoundAsync(CancellationToken.None))!;
        Assert.Equal((1L, RoundStates.Counting, Partitions), (round.Version, round.State, round.Partitions));

        await WritePartsAsync(round.Version, RoundPhases.Counts, 0, 1);
        await grain.TickAsync(CancellationToken.None);
        Assert.Equal(RoundStates.Counting, (await _store.LatestRoundAsync(CancellationToken.None))!.State);

        await WritePartsAsync(round.Version, RoundPhases.Counts, 2);
        await grain.TickAsync(CancellationToken.None);
        Assert.Equal(RoundStates.Scoring, (await _store.LatestRoundAsync(CancellationToken.None))!.State);

        await WritePartsAsync(round.Version, RoundPhases.Entries, 0, 2);
        await grain.TickAsync(CancellationToken.None);
        Assert.Null(await _store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None));

        await WritePartsAsync(round.Version, RoundPhases.Entries, 1);
        _clock.Advance(TimeSpan.FromSeconds(2));
        await grain.TickAsync(CancellationToken.None);
        var complete = (await _store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None))!;
        Assert.Equal(1, complete.Version);
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeMilliseconds(), complete.CompletedMs);

        // The timer: nothing new until the interval has passed since the last round started.
        await grain.TickAsync(CancellationToken.None);
        Assert.Equal(1, (await _store.LatestRoundAsync(CancellationToken.None))!.Version);
        _clock.Advance(TimeSpan.FromSeconds(60));
        await grain.TickAsync(CancellationToken.None);
        Assert.Equal((2L, RoundStates.Counting), ((await _store.LatestRoundAsync(CancellationToken.None))!.Version, (await _store.LatestRoundAsync(CancellationToken.None))!.State));
    }

    [Fact]
    public async Task A_request_is_answered_by_a_round_that_starts_after_it()
    {
        var grain = await HostAsync("a", new NeighborhoodOptions { RoundIntervalSeconds = 0 });
        await grain.TickAsync(CancellationToken.None);
        Assert.Null(await _store.LatestRoundAsync(CancellationToken.None)); // no timer, no request: no round

        var answer = grain.RequestRoundAsync(CancellationToken.None);
        await grain.TickAsync(CancellationToken.None);
        var round = (await _store.LatestRoundAsync(CancellationToken.None))!;

        // A second request while the round runs: that round counted before it, so it waits for the next one.
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        var later = grain.RequestRoundAsync(CancellationToken.None);
        await CompleteAsync(grain, round.Version);
        Assert.Equal(round.Version, (await answer).Version);
        Assert.False(later.IsCompleted);

        await grain.TickAsync(CancellationToken.None);
        await CompleteAsync(grain, round.Version + 1);
        Assert.Equal(round.Version + 1, (await later).Version);
    }

    [Fact]
    public async Task A_new_host_carries_the_open_round_on_and_the_old_host_can_no_longer_move_it()
    {
        var old = await HostAsync("a");
        await old.TickAsync(CancellationToken.None);
        await WritePartsAsync(1, RoundPhases.Counts, 0, 1, 2);
        await old.TickAsync(CancellationToken.None);
        await WritePartsAsync(1, RoundPhases.Entries, 0);

        // The control partition moves: the claim fences the old host. The new one resumes from the stored parts.
        var host = await HostAsync("b");
        await WritePartsAsync(1, RoundPhases.Entries, 1, 2);
        await old.TickAsync(CancellationToken.None);
        Assert.Equal(RoundStates.Scoring, (await _store.LatestRoundAsync(CancellationToken.None))!.State);

        await host.TickAsync(CancellationToken.None);
        var round = (await _store.LatestRoundAsync(CancellationToken.None))!;
        Assert.Equal((1L, RoundStates.Complete, "a"), (round.Version, round.State, round.Owner));

        // The fenced host starts nothing either, whatever its timer says.
        _clock.Advance(TimeSpan.FromMinutes(5));
        await old.TickAsync(CancellationToken.None);
        Assert.Equal(1, (await _store.LatestRoundAsync(CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task A_round_that_runs_too_long_is_abandoned_and_a_part_from_a_stale_owner_is_refused()
    {
        var grain = await HostAsync("a");
        await grain.TickAsync(CancellationToken.None);
        await WritePartsAsync(1, RoundPhases.Counts, 0, 1);

        // Item partition 2 moved to another silo: the old owner's part is refused, the new owner's accepted.
        var stale = _itemEpochs[2];
        _itemEpochs[2] = (await _store.ClaimAsync(Items, 2, "new-owner", CancellationToken.None)).Epoch;
        Assert.False(await _store.WriteRoundPartAsync(1, RoundPhases.Counts, Items, 2, stale, [1], CancellationToken.None));

        _clock.Advance(TimeSpan.FromSeconds(31));
        await grain.TickAsync(CancellationToken.None);
        Assert.Equal(RoundStates.Abandoned, (await _store.LatestRoundAsync(CancellationToken.None))!.State);
        Assert.Null(await _store.LatestCompleteRoundAsync(long.MaxValue, CancellationToken.None));

        await grain.TickAsync(CancellationToken.None);
        Assert.Equal((2L, RoundStates.Counting), ((await _store.LatestRoundAsync(CancellationToken.None))!.Version, (await _store.LatestRoundAsync(CancellationToken.None))!.State));
    }

    [Fact]
    public async Task Completing_a_round_keeps_it_and_the_complete_round_before_it_and_drops_older_ones()
    {
        var grain = await HostAsync("a", new NeighborhoodOptions { RoundIntervalSeconds = 0 });
        for (var v = 1; v <= 3; v++)
        {
            var answer = grain.RequestRoundAsync(CancellationToken.None);
            await grain.TickAsync(CancellationToken.None);
            await CompleteAsync(grain, v);
            Assert.Equal(v, (await answer).Version);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Empty(await _store.RoundPartsWrittenAsync(1, RoundPhases.Entries, CancellationToken.None));
        Assert.Equal(Partitions, (await _store.RoundPartsWrittenAsync(2, RoundPhases.Entries, CancellationToken.None)).Count);
        Assert.Equal(2, (await _store.LatestCompleteRoundAsync(3, CancellationToken.None))!.Version);
    }

    private async Task<NeighborhoodBatchGrain> HostAsync(string silo, NeighborhoodOptions? options = null)
    {
        var claim = await _store.ClaimAsync(Control, 0, silo, CancellationToken.None);
        return new NeighborhoodBatchGrain(_store, Control, claim.Epoch, silo, () => Partitions, options ?? _options, _clock, NullLogger.Instance);
    }

    private async Task CompleteAsync(NeighborhoodBatchGrain grain, long version)
    {
        await WritePartsAsync(version, RoundPhases.Counts, 0, 1, 2);
        await grain.TickAsync(CancellationToken.None);
        await WritePartsAsync(version, RoundPhases.Entries, 0, 1, 2);
        await grain.TickAsync(CancellationToken.None);
        Assert.Equal(RoundStates.Complete, (await _store.LatestRoundAsync(CancellationToken.None))!.State);
    }

    private async Task WritePartsAsync(long version, string phase, params int[] partitions)
    {
        foreach (var p in partitions)
        {
            Assert.True(await _store.WriteRoundPartAsync(version, phase, Items, p, _itemEpochs[p], [(byte)p], CancellationToken.None));
        }
    }
}
