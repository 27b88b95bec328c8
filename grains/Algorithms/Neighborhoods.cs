namespace RecoCluster.Grains.Algorithms;

/// <summary>
/// The neighbors of one item from its co-occurrence row: every j with C[i][j] &gt; 0 scored by the configured
/// measure, the best K kept (score descending, ties by item id). The row is the item's own (its stored state);
/// the other items' counts Nⱼ and the total N come from the round's global count snapshot.
/// </summary>
public static class Neighborhoods
{
    /// <summary>Computes the top <paramref name="k"/> neighbors of an item.</summary>
    /// <param name="countI">Nᵢ.</param>
    /// <param name="row">C[i][·], the item's co-occurrence row.</param>
    /// <param name="countOf">Nⱼ for any j (0 when unknown).</param>
    /// <param name="total">N, all events.</param>
    /// <param name="measure">The similarity measure.</param>
    /// <param name="k">How many neighbors to keep.</param>
    /// <param name="minCooccurrence">Pairs that met fewer times are ignored: one chance meeting is noise, and
    /// ignoring it bounds the work on long tails.</param>
    public static List<Scored> Compute(
        long countI,
        IEnumerable<KeyValuePair<string, long>> row,
        Func<string, long> countOf,
        long total,
        SimilarityMeasure measure,
        int k,
        long minCooccurrence = 1)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(countOf);
        return TopK.Select(Scores(countI, row, countOf, total, measure, minCooccurrence), k);
    }

    private static IEnumerable<Scored> Scores(long countI, IEnumerable<KeyValuePair<string, long>> row, Func<string, long> countOf, long total, SimilarityMeasure measure, long minCooccurrence)
    {
        foreach (var (other, c) in row)
        {
            if (c < minCooccurrence)
            {
                continue;
            }

            var score = Similarity.Score(measure, c, countI, countOf(other), total);
            if (score > 0)
            {
                yield return new Scored(other, score);
            }
        }
    }
}
