namespace RecoCluster.Grains.Algorithms;

/// <summary>The item-to-item similarity measures the neighborhoods can be built with.</summary>
public enum SimilarityMeasure
{
    /// <summary>c / √(Nᵢ·Nⱼ): how often the pair meets relative to both items' traffic.</summary>
    Cosine,

    /// <summary>c / (Nᵢ + Nⱼ − c): the overlap of the two items' interactions.</summary>
    Jaccard,

    /// <summary>Dunning's log-likelihood ratio (G²) of the 2×2 contingency table, as Apache Mahout computes it:
    /// how surprising the co-occurrence is given both items' popularity. Favors informative pairs over pairs that
    /// meet only because both are popular.</summary>
    LogLikelihood,
}

/// <summary>
/// Similarity of item i and item j from the co-occurrence count C[i][j], the item counts Nᵢ and Nⱼ, and the total
/// number of events N. Pure functions, symmetric in (i, j).
/// </summary>
/// <remarks>
/// A co-occurrence count can exceed an item's own count: a user alternating i, j, i, j adds to C[i][j] on every
/// event after the first, while Nᵢ counts only the events on i. Every measure therefore uses
/// c = min(C[i][j], Nᵢ, Nⱼ), the most the pair could have met if each event of the rarer item met the other once.
/// That keeps cosine and Jaccard within [0, 1] and the contingency table non-negative.
/// </remarks>
public static class Similarity
{
    /// <summary>The score of the pair under <paramref name="measure"/>; 0 when the pair never met.</summary>
    /// <param name="measure">Which measure.</param>
    /// <param name="cooccurrence">C[i][j] (equal to C[j][i]).</param>
    /// <param name="countI">Nᵢ.</param>
    /// <param name="countJ">Nⱼ.</param>
    /// <param name="total">N, the events over all items (only the log-likelihood ratio uses it).</param>
    public static double Score(SimilarityMeasure measure, long cooccurrence, long countI, long countJ, long total)
    {
        var c = Math.Min(cooccurrence, Math.Min(countI, countJ));
        if (c <= 0)
        {
            return 0;
        }

        return measure switch
        {
            SimilarityMeasure.Cosine => c / Math.Sqrt((double)countI * countJ),
            SimilarityMeasure.Jaccard => (double)c / (countI + countJ - c),
            SimilarityMeasure.LogLikelihood => LogLikelihoodRatio(
                c,
                countI - c,
                countJ - c,
                Math.Max(0, total - countI - countJ + c)),
            _ => throw new ArgumentOutOfRangeException(nameof(measure), measure, "unknown similarity measure"),
        };
    }

    /// <summary>
    /// G² = 2·(H(rows) + H(columns) − H(matrix)) over the contingency table
    /// [[k11, k12], [k21, k22]] (k11: both, k12: i without j, k21: j without i, k22: neither), with the
    /// unnormalized entropy H(x₁…xₙ) = (Σx)·ln(Σx) − Σ xₖ·ln xₖ. Never negative; rounding below 0 is clamped.
    /// </summary>
    public static double LogLikelihoodRatio(long k11, long k12, long k21, long k22)
    {
        if (k11 < 0 || k12 < 0 || k21 < 0 || k22 < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(k11), "contingency counts must not be negative");
        }

        var rows = Entropy(k11 + k12, k21 + k22);
        var columns = Entropy(k11 + k21, k12 + k22);
        var matrix = Entropy(k11, k12, k21, k22);
        var g2 = 2.0 * (rows + columns - matrix);
        return g2 > 0 ? g2 : 0;
    }

    private static double XLogX(long x) => x == 0 ? 0 : x * Math.Log(x);

    // The sums are grouped so that swapping i and j (which swaps k12 and k21, and rows with columns) adds the
    // same floating-point numbers in the same pairs: the score is then exactly symmetric, not just up to rounding.
    private static double Entropy(long a, long b) => XLogX(a + b) - (XLogX(a) + XLogX(b));

    private static double Entropy(long a, long b, long c, long d) => XLogX(a + b + c + d) - ((XLogX(a) + XLogX(d)) + (XLogX(b) + XLogX(c)));
}
