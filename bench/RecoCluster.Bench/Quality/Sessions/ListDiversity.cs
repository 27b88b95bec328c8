namespace RecoCluster.Bench.Quality.Sessions;

/// <summary>How varied a recommendation list is, by a pairwise item similarity (for instance
/// <see cref="SessionBaselines.Similarity"/>, which is the same yardstick for every method compared).</summary>
public static class ListDiversity
{
    /// <summary>
    /// Intra-list diversity: 1 − the mean of <paramref name="similarity"/>(a, b) over the n·(n − 1)/2 unordered
    /// pairs of the list's positions, each pair asked once as (earlier, later). Null for a list of fewer than two
    /// items: it has no pairs, and 0 or 1 would both be a claim about it.
    /// </summary>
    public static double? IntraList(IReadOnlyList<string> items, Func<string, string, double> similarity)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(similarity);
        if (items.Count < 2)
        {
            return null;
        }

        var sum = 0.0;
        for (var i = 0; i < items.Count; i++)
        {
            for (var j = i + 1; j < items.Count; j++)
            {
                sum += similarity(items[i], items[j]);
            }
        }

        var pairs = items.Count * (items.Count - 1) / 2.0;
        return 1 - (sum / pairs);
    }
}
