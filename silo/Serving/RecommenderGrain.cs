using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Catalog;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Hosting;

namespace RecoCluster.Silo.Serving;

/// <summary>
/// <see cref="IRecommenderGrain"/>: thin over <see cref="Recommender"/>, reading the silo's snapshot (one version
/// for the whole answer) and catalog. Stateless and reentrant: nothing it holds changes, so concurrent queries
/// need no turns.
/// </summary>
[StatelessWorker, Reentrant]
public sealed class RecommenderGrain(SnapshotHolder snapshots, ItemCatalog catalog, GrainKeeper keeper, IOptions<RecommenderOptions> options, TimeProvider time) : Grain, IRecommenderGrain
{
    public async Task<RecommendationList> ForUserAsync(string userId, int count, ReadPosition at)
    {
        Check(EventSchema.ValidateId("userId", userId) ?? RecommendationRequests.ValidateCount(count));
        // Straight to the partition that holds the user, not through IUserGrain: a stateless router keyed by user id
        // is an activation per user on every silo that serves one.
        var (input, behind) = await (await keeper.UserPartitionAsync(userId)).GetUserInputAsync(userId, at);
        var snapshot = snapshots.Current;
        var coldStart = input is null || (input.Recent.Count == 0 && input.Factors is null);
        var items = coldStart
            ? Recommender.Popular(snapshot, catalog.IsAvailable, count)
            : Recommender.ForUser(input!, snapshot, catalog.IsAvailable, options.Value, count, time.GetUtcNow());
        return RecommendationLists.From(snapshot, items) with { UserId = userId, ColdStart = coldStart, Behind = behind ? true : null };
    }

    public Task<RecommendationList?> SimilarAsync(string itemId, int count)
    {
        Check(EventSchema.ValidateId("itemId", itemId) ?? RecommendationRequests.ValidateCount(count));
        return Task.FromResult(RecommendationLists.Similar(itemId, count, snapshots.Current, catalog));
    }

    public Task<RecommendationList> CartAsync(IReadOnlyList<string> items, int count)
    {
        Check(RecommendationRequests.ValidateCart(new CartRequest(items, count)));
        var snapshot = snapshots.Current;
        return Task.FromResult(RecommendationLists.From(snapshot, Recommender.Cart(items, snapshot, catalog.IsAvailable, count)));
    }

    public Task<RecommendationList> PopularAsync(int count)
    {
        Check(RecommendationRequests.ValidateCount(count));
        var snapshot = snapshots.Current;
        return Task.FromResult(RecommendationLists.From(snapshot, Recommender.Popular(snapshot, catalog.IsAvailable, count)));
    }

    public Task<long> GetServedVersionAsync() => Task.FromResult(snapshots.Current.Version);

    private static void Check(string? error)
    {
        if (error is not null)
        {
            throw new ArgumentException(error);
        }
    }
}
