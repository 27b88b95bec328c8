using RecoCluster.Grains.Algorithms;

namespace RecoCluster.Tests.Unit;

/// <summary>The similarity measures on hand-checked cases. The log-likelihood oracle values come from the
/// textbook G² = 2·Σ O·ln(O/E), computed independently of the entropy form the code uses.</summary>
public sealed class SimilarityTests
{
    [Theory]
    [InlineData(1, 0, 0, 1, 2.772588722239781)]
    [InlineData(10, 0, 0, 10, 27.725887222397812)]
    [InlineData(5, 1995, 0, 100000, 39.33052165490081)]
    [InlineData(1000, 1995, 1000, 100000, 4730.7368130612485)]
    [InlineData(1000, 1000, 1000, 99000, 5714.932396924002)]
    [InlineData(3, 7, 11, 979, 14.236200099157026)]
    public void Log_likelihood_ratio_equals_the_g_test_statistic(long k11, long k12, long k21, long k22, double expected) =>
        // The entropy form subtracts large, close numbers: it agrees to about 1e-10 relative, not to the last bit.
        Assert.Equal(expected, Similarity.LogLikelihoodRatio(k11, k12, k21, k22), expected * 1e-10);

    [Fact]
    public void Independent_items_score_zero_by_log_likelihood()
    {
        // Rows proportional to columns: observed equals expected everywhere.
        Assert.Equal(0, Similarity.LogLikelihoodRatio(10, 90, 100, 900), 9);
    }

    [Fact]
    public void Cosine_and_jaccard_on_a_worked_example()
    {
        // C = 6, Ni = 9, Nj = 16: cosine 6/12, Jaccard 6/19.
        Assert.Equal(0.5, Similarity.Score(SimilarityMeasure.Cosine, 6, 9, 16, 1000), 12);
        Assert.Equal(6.0 / 19, Similarity.Score(SimilarityMeasure.Jaccard, 6, 9, 16, 1000), 12);
        // LLR through Score builds the table (6, 3, 10, 981).
        Assert.Equal(Similarity.LogLikelihoodRatio(6, 3, 10, 981), Similarity.Score(SimilarityMeasure.LogLikelihood, 6, 9, 16, 1000), 12);
    }

    [Fact]
    public void A_count_above_the_rarer_items_count_is_capped_at_it()
    {
        // i, j, i, j, i by one user: C = 4 while Ni = 3 and Nj = 2; c = 2.
        Assert.Equal(2 / Math.Sqrt(6), Similarity.Score(SimilarityMeasure.Cosine, 4, 3, 2, 5), 12);
        Assert.Equal(2.0 / 3, Similarity.Score(SimilarityMeasure.Jaccard, 4, 3, 2, 5), 12);
    }

    [Fact]
    public void Pairs_that_never_met_score_zero() =>
        Assert.All(Enum.GetValues<SimilarityMeasure>(), m => Assert.Equal(0, Similarity.Score(m, 0, 5, 7, 100)));

    [Fact]
    public void Top_k_orders_by_score_then_item_id_and_keeps_k()
    {
        var candidates = new[] { new Scored("b", 1), new Scored("a", 1), new Scored("c", 3), new Scored("d", 0.5), new Scored("e", 2) };
        Assert.Equal(["c", "e", "a"], TopK.Select(candidates, 3).Select(s => s.ItemId));
        Assert.Equal(["c", "e", "a", "b", "d"], TopK.Select(candidates, 10).Select(s => s.ItemId));
        Assert.Empty(TopK.Select(candidates, 0));
    }

    [Fact]
    public void Neighborhoods_skip_rare_pairs_and_rank_by_the_measure()
    {
        var counts = new Dictionary<string, long> { ["a"] = 10, ["b"] = 100, ["c"] = 10, ["d"] = 50 };
        var row = new Dictionary<string, long> { ["a"] = 5, ["b"] = 9, ["c"] = 1, ["d"] = 5 };
        var neighbors = Neighborhoods.Compute(20, row, j => counts.GetValueOrDefault(j), 1_000, SimilarityMeasure.Cosine, k: 10, minCooccurrence: 2);
        // cosine: a 5/√200 = .354, b 9/√2000 = .201, d 5/√1000 = .158; c dropped (met once).
        Assert.Equal(["a", "b", "d"], neighbors.Select(n => n.ItemId));
    }
}
