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
    /// <param name="shrinkage">λ ≥ 0: every score is multiplied by C[i][j] / (C[i][j] + λ), so that a pair seen a
    /// few times cannot outrank a well-established one on a ratio alone (0: no shrinkage).</param>
    public static List<Scored> Compute(
        long countI,
        IEnumerable<KeyValuePair<string, long>> row,
        Func<string, long> countOf,
        long total,
        SimilarityMeasure measure,
        int k,
        long minCooccurrence = 1,
        double shrinkage = 0)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(countOf);
        return TopK.Select(Scores(countI, row, countOf, total, measure, minCooccurrence, Math.Max(0, shrinkage)), k);
    }

    /// <summary>
    /// The items that most often come next after an item, from its sequential row S[i][·]: each j scored
    /// S[i][j] / (Σₖ S[i][k] + λ), the best K kept (score descending, ties by item id). The share of i's
    /// followers that went to j, shrunk towards 0 when i has been followed only a few times, so that one chance
    /// move out of a rare item does not outweigh a well-established one out of a frequent item when a window's
    /// items are blended.
    /// </summary>
    /// <param name="row">S[i][·].</param>
    /// <param name="k">How many to keep.</param>
    /// <param name="shrinkage">λ, in the row's weight units (a step-1 move weighs 60).</param>
    public static List<Scored> Next(IEnumerable<KeyValuePair<string, long>> row, int k, double shrinkage)
    {
        ArgumentNullException.ThrowIfNull(row);
        var entries = row as IReadOnlyCollection<KeyValuePair<string, long>> ?? [.. row];
        var total = 0.0;
        foreach (var (_, weight) in entries)
        {
            total += weight;
        }

        var denominator = total + Math.Max(0, shrinkage);
        return denominator <= 0 ? [] : TopK.Select(entries.Where(e => e.Value > 0).Select(e => new Scored(e.Key, e.Value / denominator)), k);
    }

    private static IEnumerable<Scored> Scores(long countI, IEnumerable<KeyValuePair<string, long>> row, Func<string, long> countOf, long total, SimilarityMeasure measure, long minCooccurrence, double shrinkage)
    {
        foreach (var (other, c) in row)
        {
            if (c < minCooccurrence)
            {
                continue;
            }

            var score = Similarity.Score(measure, c, countI, countOf(other), total);
            if (shrinkage > 0)
            {
                score *= c / (c + shrinkage);
            }

            if (score > 0)
            {
                yield return new Scored(other, score);
            }
        }
    }
}
