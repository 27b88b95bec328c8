using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Catalog;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Tests.Unit;

/// <summary>Serving from a hand-made snapshot: candidates, blending, filters, reasons; the catalog's content
/// path; the snapshot's own rules (trend, popular list, encoding).</summary>
public sealed class RecommenderTests
{
    private static readonly RecoSnapshot Snapshot = RecoSnapshot.Build(
        7,
        DateTimeOffset.UnixEpoch,
        [
            Item("a", 50, similar: [("b", 3.0), ("c", 2.0), ("x", 1.0)], bought: [("c", 4.0)]),
            Item("b", 40, similar: [("a", 3.0), ("d", 2.5)], bought: []),
            Item("c", 30, similar: [("a", 2.0)], bought: [("a", 4.0), ("e", 1.0)]),
            Item("d", 60, similar: [("b", 2.5)], bought: []),
            Item("e", 5, similar: [], bought: [("c", 1.0)]),
            Item("x", 1, similar: [("a", 1.0)], bought: []),
        ],
        popularCount: 10,
        factorDimensions: 0);

    [Fact]
    public void Neighbors_of_recent_items_are_recommended_with_the_item_that_brought_them_and_seen_items_are_left_out()
    {
        var input = new RecommendationInput("u", [Recent("a", EventType.View, at: 2_000), Recent("b", EventType.AddToCart, at: 1_000)], null);
        var recs = Recommender.ForUser(input, Snapshot, _ => true, new RecommenderOptions { PopularityWeight = 0 }, 10);

        // d: 2.5 from b, one step older (× 0.85 = 2.125); c: 2.0 from a; x: 1.0 from a. The list is short, so
        // popular items fill it, at their (zero) weight.
        Assert.Equal(["d", "c", "x", "e"], recs.Select(r => r.ItemId));
        Assert.Equal("because you added to your cart b", recs[0].Reason);
        Assert.Equal("b", recs[0].BecauseOf);
        Assert.Equal(CandidateSource.Neighborhood, recs[0].Source);
        Assert.Equal("because you viewed a", recs[1].Reason);
        Assert.Equal(2.0 / 2.125, recs[1].Score, 12);
        Assert.Equal(("popular now", CandidateSource.Popular), (recs[3].Reason, recs[3].Source));

        // Touched at the same moment (one basket): equally recent, so d's 2.5 and c's 2.0 count in full.
        var basket = new RecommendationInput("u", [Recent("a", EventType.Purchase, at: 5), Recent("b", EventType.Purchase, at: 5)], null);
        var same = Recommender.ForUser(basket, Snapshot, _ => true, new RecommenderOptions { PopularityWeight = 0 }, 2);
        Assert.Equal(["d", "c"], same.Select(r => r.ItemId));
        Assert.Equal(2.0 / 2.5, same[1].Score, 12);
    }

    [Fact]
    public void Purchased_and_unavailable_items_are_filtered_and_popular_items_fill_the_rest()
    {
        var input = new RecommendationInput("u", [Recent("a", EventType.Purchase, purchased: true)], null);
        var options = new RecommenderOptions { ExcludeSeen = false, ExcludePurchased = true };
        var recs = Recommender.ForUser(input, Snapshot, item => item != "c", options, 5);

        Assert.DoesNotContain(recs, r => r.ItemId is "a" or "c");
        Assert.Equal("b", recs[0].ItemId);
        Assert.Contains(recs, r => r.Source == CandidateSource.Popular && r.Reason == "popular now");
        Assert.Equal(4, recs.Count); // six items, one bought, one unavailable
    }

    [Fact]
    public void An_answer_depends_only_on_its_inputs_though_the_candidate_tables_are_reused_between_answers()
    {
        // Answers on one thread share their candidate tables: a table that kept anything of the answer before
        // (a score, an exclusion, a reason) would change this one.
        var options = new RecommenderOptions { PopularityWeight = 0 };
        var first = new RecommendationInput("u1", [Recent("a", EventType.View, at: 2_000), Recent("b", EventType.AddToCart, at: 1_000)], null);
        var second = new RecommendationInput("u2", [Recent("d", EventType.Purchase, at: 3_000, purchased: true)], null);
        string Show(List<Recommendation> recs) => string.Join("; ", recs.Select(r => $"{r.ItemId} {r.Score:R} {r.Reason} {r.Source}"));

        var firstAlone = Show(Recommender.ForUser(first, Snapshot, _ => true, options, 10));
        var secondAlone = Show(Recommender.ForUser(second, Snapshot, _ => true, options, 10));
        var cart = Show(Recommender.Cart(["a"], Snapshot, _ => true, 4));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(secondAlone, Show(Recommender.ForUser(second, Snapshot, _ => true, options, 10)));
            Assert.Equal(cart, Show(Recommender.Cart(["a"], Snapshot, _ => true, 4)));
            Assert.Equal(firstAlone, Show(Recommender.ForUser(first, Snapshot, _ => true, options, 10)));
        }

        // The second user's window item is left out of their answer, and nowhere else.
        Assert.DoesNotContain("d ", secondAlone.Split("; ").Select(r => r[..2]));
        Assert.StartsWith("d ", firstAlone);
    }

    [Fact]
    public void The_factor_model_alone_ranks_by_dot_product_and_says_so()
    {
        var snapshot = RecoSnapshot.Build(
            1,
            DateTimeOffset.UnixEpoch,
            [Item("p", 1, [], [], [1f, 0f]), Item("q", 1, [], [], [0.5f, 0f]), Item("r", 1, [], [], [-1f, 0f])],
            10,
            2);
        var input = new RecommendationInput("u", [], [1f, 0f]);
        var recs = Recommender.ForUser(input, snapshot, _ => true, new RecommenderOptions { NeighborhoodWeight = 0, PopularityWeight = 0, FactorWeight = 1, FactorTrustItems = 0 }, 2);

        Assert.Equal(["p", "q"], recs.Select(r => r.ItemId));
        Assert.All(recs, r => Assert.Equal(CandidateSource.Factors, r.Source));
        Assert.Equal("matches your taste (learned from your history)", recs[0].Reason);
    }

    [Fact]
    public void What_comes_next_after_the_last_click_leads_and_says_which_click_it_follows()
    {
        var snapshot = RecoSnapshot.Build(
            1,
            DateTimeOffset.UnixEpoch,
            [
                Item("a", 10, similar: [("n", 1.0)], bought: [], next: [("x", 0.5), ("y", 0.1)]),
                Item("b", 10, similar: [], bought: [], next: [("y", 0.4), ("z", 0.2), ("a", 0.3)]),
                Item("n", 10, [], []), Item("x", 10, [], []), Item("y", 10, [], []), Item("z", 10, [], []),
            ],
            10,
            0);
        // b is the latest click, a the one before it.
        var input = new RecommendationInput("u", [Recent("b", EventType.Click, at: 5), Recent("a", EventType.View, at: 4)], null);
        var options = new RecommenderOptions { NeighborhoodWeight = 0, PopularityWeight = 0, SequentialWeight = 1, SequentialRecencyDecay = 0.5 };
        var recs = Recommender.ForUser(input, snapshot, _ => true, options, 3);

        // y: 0.4 + 0.5·0.1 = 0.45; x: 0.5·0.5 = 0.25; z: 0.2; a is seen.
        Assert.Equal(["y", "x", "z"], recs.Select(r => r.ItemId));
        Assert.Equal(1.0, recs[0].Score, 12); // normalized by the best
        Assert.Equal(0.25 / 0.45, recs[1].Score, 12);
        Assert.Equal((CandidateSource.Sequential, "b", "often next after b, which you clicked"), (recs[0].Source, recs[0].BecauseOf, recs[0].Reason));
        Assert.Equal(("a", "often next after a, which you viewed"), (recs[1].BecauseOf, recs[1].Reason));

        // Within the session gap of the latest click the rules speak; a request 31 minutes later gets none of them.
        var latest = DateTimeOffset.FromUnixTimeMilliseconds(5);
        Assert.Equal("y", Recommender.ForUser(input, snapshot, _ => true, options, 3, latest.AddMinutes(30))[0].ItemId);
        Assert.DoesNotContain(Recommender.ForUser(input, snapshot, _ => true, options, 3, latest.AddMinutes(31)), r => r.Source == CandidateSource.Sequential);
        Assert.True(Recommender.HasLastClick(input, 0, latest.AddDays(9)));

        // Two items posted at the same moment (an order's lines) have no order: no last click, no sequential rules.
        var basket = new RecommendationInput("u", [Recent("b", EventType.Purchase, at: 5), Recent("a", EventType.Purchase, at: 5)], null);
        Assert.False(Recommender.HasLastClick(basket, 1_800, latest));
        Assert.DoesNotContain(Recommender.ForUser(basket, snapshot, _ => true, options, 3, latest), r => r.Source == CandidateSource.Sequential);

        // Weighted against the neighborhoods, the larger contribution names the reason.
        var blended = Recommender.ForUser(input, snapshot, _ => true, new RecommenderOptions { PopularityWeight = 0, SequentialWeight = 0.5 }, 5);
        Assert.Equal(CandidateSource.Neighborhood, blended.Single(r => r.ItemId == "n").Source);
        Assert.Equal(CandidateSource.Sequential, blended.Single(r => r.ItemId == "y").Source);
    }

    [Fact]
    public void The_factor_model_is_trusted_in_proportion_to_the_window_so_a_one_click_visitor_gets_the_neighbors()
    {
        Assert.Equal(0.1, Recommender.FactorTrust(1, 10), 12);
        Assert.Equal(1.0, Recommender.FactorTrust(25, 10), 12);
        Assert.Equal(1.0, Recommender.FactorTrust(0, 0), 12);

        var snapshot = RecoSnapshot.Build(
            1,
            DateTimeOffset.UnixEpoch,
            [
                Item("a", 10, similar: [("n", 1.0)], bought: [], factors: [0f, 1f], next: [("x", 1.0)]),
                Item("n", 10, [], [], [0f, 0f]), Item("x", 10, [], [], [0f, 0f]),
                Item("f1", 10, [], [], [5f, 0f]), Item("f2", 10, [], [], [4f, 0f]), Item("f3", 10, [], [], [3f, 0f]),
            ],
            10,
            2);
        var input = new RecommendationInput("u", [Recent("a", EventType.View)], [1f, 0f]);
        var options = new RecommenderOptions { PopularityWeight = 0, SequentialWeight = 1, FactorWeight = 2, FactorTrustItems = 10 };

        // One click of ten: the factor model weighs 2 × 0.1 = 0.2, below the neighbors' and what comes next's 1.
        Assert.Equal(["n", "x"], Recommender.ForUser(input, snapshot, _ => true, options, 2).Select(r => r.ItemId).Order());

        // Fully trusted, the same vector's items lead.
        options.FactorTrustItems = 0;
        Assert.Equal("f1", Recommender.ForUser(input, snapshot, _ => true, options, 2)[0].ItemId);
    }

    [Fact]
    public void Cart_complements_come_from_purchase_co_occurrence_first_and_never_include_the_basket()
    {
        var recs = Recommender.Cart(["a"], Snapshot, _ => true, 4);

        Assert.Equal("c", recs[0].ItemId);
        Assert.Equal(CandidateSource.BoughtTogether, recs[0].Source);
        Assert.Equal("often bought together with a", recs[0].Reason);
        Assert.Equal(["b", "x"], recs.Skip(1).Take(2).Select(r => r.ItemId)); // then often seen together
        Assert.DoesNotContain(recs, r => r.ItemId == "a");
        Assert.Equal(4, recs.Count); // filled with popular
    }

    [Fact]
    public void Popular_is_by_trend_with_ties_by_id_and_scores_relative_to_the_first()
    {
        var popular = Recommender.Popular(Snapshot, item => item != "d", 3);
        Assert.Equal(["a", "b", "c"], popular.Select(p => p.ItemId));
        Assert.Equal(50.0 / 60, popular[0].Score, 12); // relative to the snapshot's most popular (d, unavailable)
        Assert.Equal(40.0 / 60, popular[1].Score, 12);
    }

    [Fact]
    public void Trend_decays_by_half_life_and_adds_what_is_new_since_the_previous_round()
    {
        Assert.Equal(100, SnapshotBuilder.Trend(null, 100, 0, 24));
        var previous = Item("a", 100, [], [], trend: 80);
        Assert.Equal(40 + 20, SnapshotBuilder.Trend(previous, 120, 24 * 3600, 24), 9);
        Assert.Equal(80, SnapshotBuilder.Trend(previous, 100, 0, 24), 9);
        Assert.Equal(20, SnapshotBuilder.Trend(previous, 90, 24 * 3600 * 2, 24), 9); // counts never go down; decay does
    }

    [Fact]
    public void Entries_are_scored_by_the_configured_measure_and_encode_losslessly()
    {
        var state = new ItemGrainState { Count = 10, RowItems = ["b", "c", "d"], RowCounts = [4, 4, 1], PurchaseCount = 2, PurchaseItems = ["b"], PurchaseCounts = [2], Factors = [0.25f, -1f], NextItems = ["c", "b", "d"], NextCounts = [60, 120, 30] };
        var global = GlobalCounts.Merge([[new ItemCounts("a", 10, 2), new ItemCounts("b", 16, 4)], [new ItemCounts("c", 4, 0), new ItemCounts("d", 100, 0)]]);
        var entry = SnapshotBuilder.Entry("a", state, global, null, 0, new NeighborhoodOptions { Measure = SimilarityMeasure.Cosine, NeighborCount = 2, MinCooccurrence = 2, Shrinkage = 0 });

        Assert.Equal(130, global.Total);
        Assert.Equal(["c", "b"], entry.Similar.Select(s => s.ItemId)); // 4/√40 > 4/√160; d is below the minimum
        Assert.Equal(4 / Math.Sqrt(40), entry.Similar[0].Score, 12);
        Assert.Equal(["b"], entry.BoughtTogether.Select(s => s.ItemId));
        Assert.Equal(["b", "c", "d"], entry.Next.Select(s => s.ItemId)); // S[a][j] / (210 + 2·60)
        Assert.Equal(120 / 330.0, entry.Next[0].Score, 12);
        Assert.Equal(30 / 330.0, entry.Next[2].Score, 12);

        var decoded = SnapshotCodec.DecodeEntries(SnapshotCodec.EncodeEntries([entry])).Single();
        Assert.Equal(entry.ItemId, decoded.ItemId);
        Assert.Equal(entry.Similar, decoded.Similar);
        Assert.Equal(entry.BoughtTogether, decoded.BoughtTogether);
        Assert.Equal(entry.Factors, decoded.Factors);
        Assert.Equal(entry.Next, decoded.Next);
        Assert.Equal((entry.Count, entry.Trend), (decoded.Count, decoded.Trend));
        Assert.Equal([new ItemCounts("a", 10, 2)], SnapshotCodec.DecodeCounts(SnapshotCodec.EncodeCounts([new ItemCounts("a", 10, 2)])));
        Assert.Throws<InvalidDataException>(() => SnapshotCodec.DecodeEntries([9, 0, 0, 0, 0]));

        // With the factor model on, an item no step has touched yet enters with its initial vector: without it the
        // first snapshot would have no vectors, so no step could ever draw a negative.
        var fresh = SnapshotBuilder.Entry("z", new ItemGrainState { Count = 1 }, global, null, 0, new NeighborhoodOptions(), new FactorOptions { Dimensions = 4 });
        var init = new float[4];
        Bpr.InitItem("z", 0.1f, init);
        Assert.Equal(init, fresh.Factors);
        Assert.Equal(state.Factors, SnapshotBuilder.Entry("a", state, global, null, 0, new NeighborhoodOptions(), new FactorOptions { Dimensions = 2 }).Factors);
        Assert.Null(SnapshotBuilder.Entry("z", new ItemGrainState(), global, null, 0, new NeighborhoodOptions(), new FactorOptions { Dimensions = 0 }).Factors);
    }

    [Fact]
    public void Content_similarity_is_the_jaccard_index_of_category_and_tags_and_skips_unavailable_items()
    {
        var catalog = new ItemCatalog();
        catalog.Upsert(Catalog("new", "lamps", "brass", "vintage"));
        catalog.Upsert(Catalog("l1", "lamps", "brass", "vintage"));          // 3 of 3
        catalog.Upsert(Catalog("l2", "lamps", "vintage"));                   // 2 of 3
        catalog.Upsert(Catalog("l3", "lamps", "steel"));                     // 1 of 4
        catalog.Upsert(Catalog("r1", "rugs", "vintage", "wool"));            // 1 of 5
        catalog.Upsert(Catalog("gone", "lamps", "brass", "vintage") with { Available = false });

        var similar = catalog.SimilarByContent("new", 10);
        Assert.Equal(["l1", "l2", "l3", "r1"], similar.Select(s => s.ItemId));
        Assert.Equal([1.0, 2.0 / 3, 0.25, 0.2], similar.Select(s => s.Score));
        Assert.Equal("same category as new (lamps), also tagged brass, vintage", similar[0].Reason);
        Assert.False(catalog.IsAvailable("gone"));
        Assert.True(catalog.IsAvailable("never-in-catalog"));

        // Re-categorised: the old features stop matching.
        catalog.Upsert(Catalog("l1", "rugs"));
        Assert.DoesNotContain(catalog.SimilarByContent("new", 10), s => s.ItemId == "l1");
        catalog.Remove("l2");
        Assert.DoesNotContain(catalog.SimilarByContent("new", 10), s => s.ItemId == "l2");
        Assert.Empty(catalog.SimilarByContent("unknown", 10));
    }

    private static CatalogItem Catalog(string id, string category, params string[] tags) => new(id, category, tags, null, true, DateTimeOffset.UnixEpoch);

    private static RecentInteraction Recent(string item, EventType type, bool purchased = false, long at = 0) => new(item, type, at, purchased);

    private static SnapshotItem Item(string id, long count, (string, double)[] similar, (string, double)[] bought, float[]? factors = null, double? trend = null, (string, double)[]? next = null) =>
        new(id, count, trend ?? count, [.. similar.Select(s => new Scored(s.Item1, s.Item2))], [.. bought.Select(s => new Scored(s.Item1, s.Item2))], factors, [.. (next ?? []).Select(s => new Scored(s.Item1, s.Item2))]);
}
