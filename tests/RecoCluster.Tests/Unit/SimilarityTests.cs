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

    [Fact]
    public void Shrinkage_keeps_a_rare_pair_from_outranking_an_established_one()
    {
        // x met i twice out of its 2 events (cosine 2/√(20·2) = .316); y met i 12 times out of 60 (12/√1200 = .346)
        // and z 10 times out of 10 (10/√200 = .707). Without shrinkage z, y, x; a rare item with a perfect ratio,
        // r (1 of 1: 1/√20 = .224), is fourth.
        var counts = new Dictionary<string, long> { ["x"] = 2, ["y"] = 60, ["z"] = 10, ["r"] = 1 };
        var row = new Dictionary<string, long> { ["x"] = 2, ["y"] = 12, ["z"] = 10, ["r"] = 1 };
        var plain = Neighborhoods.Compute(20, row, j => counts[j], 1_000, SimilarityMeasure.Cosine, k: 4);
        Assert.Equal(["z", "y", "x", "r"], plain.Select(n => n.ItemId));

        // With λ = 20 each score is multiplied by C / (C + 20): x .316·2/22 = .029, r .224·1/21 = .011,
        // y .346·12/32 = .130, z .707·10/30 = .236.
        var shrunk = Neighborhoods.Compute(20, row, j => counts[j], 1_000, SimilarityMeasure.Cosine, k: 4, shrinkage: 20);
        Assert.Equal(["z", "y", "x", "r"], shrunk.Select(n => n.ItemId));
        Assert.Equal(10 / Math.Sqrt(200) * 10 / 30, shrunk[0].Score, 12);
        Assert.Equal(1 / Math.Sqrt(20) / 21, shrunk[3].Score, 12);

        // Where the ratio alone would let the rare pair win, shrinkage turns it round: q (3 of 3, .387) against
        // y (12 of 60, .346).
        counts["q"] = 3;
        row["q"] = 3;
        Assert.Equal("q", Neighborhoods.Compute(20, row, j => counts[j], 1_000, SimilarityMeasure.Cosine, k: 5)[1].ItemId);
        Assert.Equal(["z", "y", "q"], Neighborhoods.Compute(20, row, j => counts[j], 1_000, SimilarityMeasure.Cosine, k: 3, shrinkage: 20).Select(n => n.ItemId));
    }

    [Fact]
    public void Next_scores_are_shares_of_the_row_shrunk_by_lambda_with_ties_by_item_id()
    {
        var row = new Dictionary<string, long> { ["b"] = 60, ["a"] = 60, ["c"] = 30 };
        var next = Neighborhoods.Next(row, k: 2, shrinkage: 0);
        Assert.Equal(["a", "b"], next.Select(n => n.ItemId));
        Assert.Equal(0.4, next[0].Score, 12);
        Assert.Equal(60 / 270.0, Neighborhoods.Next(row, k: 3, shrinkage: 120)[0].Score, 12);
        Assert.Empty(Neighborhoods.Next([], k: 3, shrinkage: 120));
    }
}
