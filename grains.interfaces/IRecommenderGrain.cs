namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// Answers recommendation queries from the silo's own copy of the neighborhood snapshot and the catalog. A
/// stateless worker: Orleans runs it on the silo that receives the call (the gateway's silo connection), as many
/// activations as the load needs, so a query costs one hop to a silo plus, for a user, one call to the ingress of
/// the user's partition.
/// Use key 0.
/// </summary>
/// <remarks>Arguments are validated by the caller (the gateway answers 400 for bad ones); the grain checks again
/// and throws <see cref="ArgumentException"/>, as it is reachable by any cluster client.</remarks>
public interface IRecommenderGrain : IGrainWithIntegerKey
{
    /// <summary>Recommendations for a user from the user's window and factor vector, or popular items marked as
    /// cold start for a user with no history. The user is read at <paramref name="at"/> (read-your-writes); an
    /// answer that could not wait for all of it says <see cref="RecommendationList.Behind"/>.</summary>
    Task<RecommendationList> ForUserAsync(string userId, int count, ReadPosition at);

    /// <summary>Items similar to <paramref name="itemId"/> (neighbors, then content), or null when the item is in
    /// neither the snapshot nor the catalog.</summary>
    Task<RecommendationList?> SimilarAsync(string itemId, int count);

    /// <summary>Complements of a basket.</summary>
    Task<RecommendationList> CartAsync(IReadOnlyList<string> items, int count);

    /// <summary>The most popular available items.</summary>
    Task<RecommendationList> PopularAsync(int count);

    /// <summary>The snapshot version this silo serves (0 before the first round).</summary>
    Task<long> GetServedVersionAsync();
}
