using RecoCluster.Bench.Quality;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Tests.Unit;

/// <summary>The engine's classes end to end (user models, combined deltas, item models, a round, serving) on
/// synthetic sessions with planted sequential structure: what a visitor with one click is shown.</summary>
public sealed class SessionRecommendationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_one_click_visitor_is_led_by_what_follows_that_item_not_by_the_factor_model_or_popularity()
    {
        var engine = Replay(sessions: 3_000, seed: 11);
        var visitor = "visitor";
        engine.Apply(new ClickEvent(visitor, "c1-0", EventType.Click, T0.AddDays(2)));
        var input = engine.InputFor(visitor);
        Assert.NotNull(input.Factors); // the factor model has a vector for this visitor: it could speak, and must not lead

        var recs = Recommender.ForUser(input, engine.Snapshot, _ => true, new RecommenderOptions(), 5);

        // Chain 1 is c1-0 → c1-1 → c1-2 → …: the planted next items lead, in order, and say which click they follow.
        Assert.Equal(["c1-1", "c1-2"], recs.Take(2).Select(r => r.ItemId));
        Assert.Equal(CandidateSource.Sequential, recs[0].Source);
        Assert.All(recs.Take(2), r => Assert.Equal("c1-0", r.BecauseOf));
        Assert.All(recs.Take(2), r => Assert.Contains(r.Source, new[] { CandidateSource.Sequential, CandidateSource.Neighborhood }));
        Assert.Equal("popular", engine.Snapshot.Popular[0].ItemId); // by far the most clicked, and still not first
        var popularityAlone = Recommender.ForUser(input, engine.Snapshot, _ => true, new RecommenderOptions { NeighborhoodWeight = 0, SequentialWeight = 0, FactorWeight = 0, PopularityWeight = 1 }, 1);
        Assert.Equal("popular", popularityAlone[0].ItemId); // what the test would see if popularity led
        Assert.DoesNotContain(recs.Take(2), r => r.Source is CandidateSource.Factors or CandidateSource.Popular);
    }

    [Fact]
    public void The_sequential_rules_tell_the_direction_co_occurrence_cannot()
    {
        var engine = Replay(sessions: 3_000, seed: 12);
        engine.Apply(new ClickEvent("visitor", "c2-3", EventType.Click, T0.AddDays(2)));
        var input = engine.InputFor("visitor");

        // Co-occurrence is symmetric: c2-2 (before) and c2-4 (after) are equally good neighbors of c2-3.
        var neighbors = Recommender.ForUser(input, engine.Snapshot, _ => true, new RecommenderOptions { SequentialWeight = 0, FactorWeight = 0, PopularityWeight = 0 }, 2);
        Assert.Equal(["c2-2", "c2-4"], neighbors.Select(r => r.ItemId).Order());

        // The served blend puts the item that comes after first.
        var served = Recommender.ForUser(input, engine.Snapshot, _ => true, new RecommenderOptions(), 2);
        Assert.Equal("c2-4", served[0].ItemId);
    }

    // Ten chains of eight items; each session walks 3 to 6 steps of one chain from a random start, most of them
    // after a click on the popular item (so that it is by far the most clicked, and never comes after a chain's
    // item), one session a minute, then a round.
    private static EngineReplay Replay(int sessions, int seed)
    {
        var random = new Random(seed);
        var engine = new EngineReplay(new UserGrainOptions(), new NeighborhoodOptions(), batchEvents: 200);
        for (var s = 0; s < sessions; s++)
        {
            var user = $"s{s}";
            var at = T0.AddMinutes(s);
            var chain = random.Next(10);
            var start = random.Next(4);
            var steps = 3 + random.Next(4);
            var click = 0;
            if (random.NextDouble() < 0.6)
            {
                engine.Apply(new ClickEvent(user, "popular", EventType.Click, at.AddSeconds(click++)));
            }

            for (var k = 0; k < steps && start + k < 8; k++)
            {
                engine.Apply(new ClickEvent(user, $"c{chain}-{start + k}", EventType.Click, at.AddSeconds(click++)));
            }
        }

        engine.Round(T0.AddDays(1));
        return engine;
    }
}
