using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Catalog;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Silo.Serving;

/// <summary>How a silo turns the recommender's results into the public answers, whichever way the query arrived.</summary>
public static class RecommendationLists
{
    /// <summary>The answer for <paramref name="items"/> computed from <paramref name="snapshot"/>.</summary>
    public static RecommendationList From(RecoSnapshot snapshot, IEnumerable<Recommendation> items)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(items);
        return new(
            snapshot.Version,
            snapshot.Version == 0 ? null : snapshot.BuiltAt,
            items.Select(i => new RecommendedItem(i.ItemId, Math.Round(i.Score, 6), i.Reason, SourceName(i.Source), i.BecauseOf)).ToList());
    }

    /// <summary>Items similar to <paramref name="itemId"/>: its neighbors, then (for an item with too few, such as a
    /// new or rare one, or one whose neighbors are all unavailable) items like it by content. Null when the item is
    /// in neither the snapshot nor the catalog.</summary>
    public static RecommendationList? Similar(string itemId, int count, RecoSnapshot snapshot, ItemCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(catalog);
        var items = Recommender.Similar(itemId, snapshot, catalog.IsAvailable, count);
        if (items.Count < count)
        {
            var have = items.Select(i => i.ItemId).ToHashSet(StringComparer.Ordinal);
            items.AddRange(catalog.SimilarByContent(itemId, count).Where(c => have.Add(c.ItemId)).Take(count - items.Count));
        }

        if (snapshot.Find(itemId) is null && catalog.Find(itemId) is null)
        {
            return null;
        }

        return From(snapshot, items) with { ItemId = itemId };
    }

    /// <summary>The wire name of a candidate source (docs/api.md lists them).</summary>
    public static string SourceName(CandidateSource source) => source switch
    {
        CandidateSource.Neighborhood => "neighborhood",
        CandidateSource.Factors => "factors",
        CandidateSource.BoughtTogether => "boughtTogether",
        CandidateSource.Content => "content",
        CandidateSource.Sequential => "sequential",
        _ => "popular",
    };
}
