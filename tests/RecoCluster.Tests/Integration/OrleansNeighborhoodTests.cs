using RecoCluster.Grains.Interfaces;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>Three Orleans silos of their own (the similarity scores depend on the totals, so no other test may add
/// events), with rounds only on request, loaded once with a known workload and caught up.</summary>
public abstract class OrleansNeighborhoodFixture : IAsyncLifetime
{
    public OrleansTestCluster Cluster { get; private set; } = null!;

    /// <summary>Every event the cluster holds.</summary>
    public List<ClickEvent> Events { get; } = ClusterClient.Events(seed: 11, count: 4_000, users: 300, items: 120, userPrefix: "on");

    public async Task InitializeAsync()
    {
        Cluster = await OrleansTestCluster.StartAsync(
            await NewStorageAsync(),
            silos: 3,
            settings: new Dictionary<string, string> { ["Reco:Neighborhoods:RoundIntervalSeconds"] = "0" });
        await Cluster.ProduceAsync(Events);
        await Cluster.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(120));
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    protected abstract Task<TestStorage> NewStorageAsync();
}

public sealed class SqliteOrleansNeighborhoodFixture : OrleansNeighborhoodFixture
{
    protected override Task<TestStorage> NewStorageAsync() => Task.FromResult(TestDatabases.NewSqlite());
}

public sealed class PostgresOrleansNeighborhoodFixture : OrleansNeighborhoodFixture
{
    protected override Task<TestStorage> NewStorageAsync() => TestDatabases.NewPostgresAsync();
}

/// <summary>The neighborhood round grain and serving on Orleans: versions computed from the stored items,
/// published whole, loaded by every silo, served by the recommender grain, and a round that outlives its silo.</summary>
public abstract class OrleansNeighborhoodTests(OrleansNeighborhoodFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly OrleansTestCluster _cluster = fixture.Cluster;

    private IRecommenderGrain Recommender => _cluster.Grains.GetGrain<IRecommenderGrain>(0);

    [Fact]
    public async Task Served_neighborhoods_and_bought_together_lists_equal_a_batch_computation_from_the_recount()
    {
        var version = await RebuildAsync();
        await NeighborhoodClient.AssertNeighborhoodsEqualRecountAsync(
            fixture.Events,
            async item => (await Recommender.SimilarAsync(item, NeighborhoodClient.K))!.Items,
            async item => (await Recommender.CartAsync([item], NeighborhoodClient.K)).Items);
        Assert.True(await Recommender.GetServedVersionAsync() >= version);
    }

    [Fact]
    public async Task Each_rebuild_publishes_a_higher_version_that_every_silo_serves_and_older_ones_are_deleted()
    {
        var first = await RebuildAsync();
        var second = await RebuildAsync();
        var third = await RebuildAsync();
        Assert.True(first < second && second < third, $"{first}, {second}, {third}");
        Assert.All(_cluster.ServedVersions(), v => Assert.Equal(third, v));
        var similar = await Recommender.SimilarAsync("sku-0", 5);
        Assert.Equal(third, similar!.SnapshotVersion);

        // The newest and the one before it stay (a silo may still be loading it); older ones are gone.
        Assert.Equal(second, (await _cluster.Store.LatestCompleteRoundAsync(third, CancellationToken.None))!.Version);
        Assert.Null(await _cluster.Store.LatestCompleteRoundAsync(second, CancellationToken.None));
        Assert.Empty(await _cluster.Store.LoadRoundPartsAsync(first, "entries", null, CancellationToken.None));
        Assert.NotEmpty(await _cluster.Store.LoadRoundPartsAsync(second, "entries", null, CancellationToken.None));
    }

    [Fact]
    public async Task User_recommendations_carry_reasons_leave_out_seen_items_and_fall_back_to_popular_for_a_new_user()
    {
        await RebuildAsync();
        var user = "on-7";
        var history = await _cluster.Grains.GetGrain<IUserGrain>(user).GetHistoryAsync();
        Assert.NotNull(history);
        var seen = history.RecentItems.Select(i => i.ItemId).ToHashSet(StringComparer.Ordinal);
        var recs = await Recommender.ForUserAsync(user, 15, ReadPosition.None);
        Assert.Equal(15, recs.Items.Count);
        Assert.False(recs.ColdStart);
        Assert.All(recs.Items, i => Assert.DoesNotContain(i.ItemId, seen));
        Assert.All(recs.Items, i => Assert.False(string.IsNullOrWhiteSpace(i.Reason)));
        var neighbors = recs.Items.Where(i => i.Source == "neighborhood").ToList();
        Assert.NotEmpty(neighbors);
        Assert.All(neighbors, i => Assert.Contains(i.BecauseOf!, seen));
        Assert.Equal(recs.Items.Select(i => i.Score).OrderByDescending(s => s), recs.Items.Select(i => i.Score));

        var cold = await Recommender.ForUserAsync("never-seen-anywhere", 5, ReadPosition.None);
        Assert.True(cold.ColdStart);
        Assert.Equal(5, cold.Items.Count);
        Assert.All(cold.Items, i => Assert.Equal("popular", i.Source));
        Assert.Null(await Recommender.SimilarAsync("no-such-item", 5));
    }

    /// <summary>Kills the silo the round grain runs on (whichever it is: membership must be in the database, as in
    /// production), then asks for a round: the grain comes up on another silo and publishes a newer version.</summary>
    protected async Task KillTheRoundGrainsSiloAsync()
    {
        Assert.False(_cluster.MembershipOnPrimary, "killing any silo needs membership outside the silos");
        var before = await RebuildAsync();
        var round = _cluster.Grains.GetGrain<INeighborhoodRoundGrain>(0);
        var at = await _cluster.Grains.GetGrain<IManagementGrain>(0).GetActivationAddress(round);
        var host = _cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(at));
        var owner = host.Name;
        Assert.Equal(owner, (await _cluster.LatestRoundAsync())!.Owner);
        await _cluster.Cluster.KillSiloAsync(host);

        // The other silos declare it dead in the membership table (our schema, Orleans' protocol).
        var endpoint = $"{host.SiloAddress.Endpoint.Address}:{host.SiloAddress.Endpoint.Port}";
        await Eventually.TrueAsync(async () => (await _cluster.MembershipAsync()).GetValueOrDefault(endpoint) == 6, Deadline, $"silo {endpoint} marked dead in reco_membership");
        Assert.Equal(2, (await _cluster.MembershipAsync()).Values.Count(status => status == 3));

        // The next call activates the grain on a live silo (a call already addressed to the dead one may fail).
        RebuildResult? after = null;
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    after = await _cluster.Grains.GetGrain<INeighborhoodRoundGrain>(0).RebuildAsync();
                    return true;
                }
                catch (Exception e) when (e is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException)
                {
                    return false;
                }
            },
            Deadline,
            "the round grain answering again after its silo was killed");
        Assert.True(after!.Version > before, $"{after.Version} after {before}");
        Assert.NotEqual(owner, (await _cluster.LatestRoundAsync())!.Owner);
        await WaitForVersionAsync(after.Version);
        await NeighborhoodClient.AssertNeighborhoodsEqualRecountAsync(
            fixture.Events,
            async item => (await Recommender.SimilarAsync(item, NeighborhoodClient.K))!.Items,
            async item => (await Recommender.CartAsync([item], NeighborhoodClient.K)).Items);
    }

    private async Task<long> RebuildAsync()
    {
        var round = await _cluster.Grains.GetGrain<INeighborhoodRoundGrain>(0).RebuildAsync();
        Assert.True(round.Partitions >= 1, $"round {round.Version} stored {round.Partitions} parts");
        await WaitForVersionAsync(round.Version);
        return round.Version;
    }

    private Task WaitForVersionAsync(long version) =>
        Eventually.TrueAsync(
            () => Task.FromResult(_cluster.ServedVersions().All(v => v >= version)),
            Deadline,
            $"every silo serving snapshot version {version}");
}

[Collection("cluster")]
public sealed class SqliteOrleansNeighborhoodTests(SqliteOrleansNeighborhoodFixture fixture)
    : OrleansNeighborhoodTests(fixture), IClassFixture<SqliteOrleansNeighborhoodFixture>;

[Collection("cluster")]
public sealed class PostgresOrleansNeighborhoodTests(PostgresOrleansNeighborhoodFixture fixture)
    : OrleansNeighborhoodTests(fixture), IClassFixture<PostgresOrleansNeighborhoodFixture>
{
    // Only here: on SQLite the silos use TestingHost's membership, kept on the primary silo, whose death no
    // cluster of that kind survives (nor does a localhost-clustered SQLite deployment).
    [Fact]
    public Task The_round_grain_fails_over_when_its_silo_is_killed() => KillTheRoundGrainsSiloAsync();
}
