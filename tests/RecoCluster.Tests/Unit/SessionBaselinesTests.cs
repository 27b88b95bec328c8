using RecoCluster.Bench.Quality.Sessions;

namespace RecoCluster.Tests.Unit;

/// <summary>The session baselines on hand-made sessions whose answers are worked out in the comments, a randomized
/// replay against a naive recount from the click log, and intra-list diversity.</summary>
public sealed class SessionBaselinesTests
{
    private static readonly Func<string, bool> All = _ => true;

    // Filler items ("_1", "_2", …) pad the gaps of sequential rules; the queries that use them leave them out.
    private static readonly Func<string, bool> NoFiller = item => !item.StartsWith('_');

    [Fact]
    public void Popularity_counts_sessions_not_clicks_best_first_and_follows_new_clicks()
    {
        // a: s1, s4 (three clicks, one session) = 2; b = 3; c = 2; d = 1. a and c tie: ordinal id.
        var baselines = Replay(new SessionBaselineOptions(), "s1 a b", "s2 b c", "s3 b c d", "s4 a a a");

        Assert.Equal((4, 4), (baselines.Sessions, baselines.Items));
        Assert.Equal(["b", "a", "c", "d"], baselines.Popularity(All, 10));
        Assert.Equal(["b", "a"], baselines.Popularity(All, 2));
        Assert.Equal(["b", "c", "d"], baselines.Popularity(item => item != "a", 10));
        Assert.Empty(baselines.Popularity(All, 0));

        // Live: d in two more sessions is 3, level with b (b first by id); a repeat of s4 changes nothing.
        baselines.Add("s5", "d");
        baselines.Add("s6", "d");
        baselines.Add("s4", "a");
        Assert.Equal(["b", "d", "a", "c"], baselines.Popularity(All, 10));
        Assert.Equal((6, 4), (baselines.Sessions, baselines.Items));
    }

    [Fact]
    public void Ties_are_broken_by_ordinal_item_id()
    {
        // Ordinal: "B" < "a" < "item10" < "item9" (a natural or culture-aware order would differ).
        var baselines = Replay(
            new SessionBaselineOptions(),
            "s1 item9",
            "s2 item10",
            "s3 a",
            "s4 B",
            "t1 x item9",
            "t2 x item10",
            "t3 x a",
            "t4 x B");

        Assert.Equal(["x", "B", "a", "item10", "item9"], baselines.Popularity(All, 10));
        Assert.Equal(["B", "a", "item10", "item9"], baselines.AssociationRules(["x"], All, 10));
        Assert.Equal(["B", "a", "item10", "item9"], baselines.SequentialRules(["x"], All, 10));
        Assert.Equal(["B", "a"], baselines.ItemKnn(["x"], All, 2));
    }

    [Fact]
    public void Association_rules_count_a_pair_once_per_session_whatever_the_order()
    {
        // AR(a, b) = 1 (s1, however many clicks); AR(a, c) = 2 (s2, and s3 where c came first).
        var baselines = Replay(new SessionBaselineOptions(), "s1 a b a b a b", "s2 a c", "s3 c a");

        Assert.Equal(["c", "b"], baselines.AssociationRules(["a"], All, 10));
        Assert.Equal(["a"], baselines.AssociationRules(["c"], All, 10));
        Assert.Equal(["a"], baselines.AssociationRules(["b"], All, 10));

        // Only the last item counts, and the session's own items are the filter's business.
        Assert.Equal(["c", "b"], baselines.AssociationRules(["b", "a"], All, 10));
        Assert.Equal(["c"], baselines.AssociationRules(["b", "a"], item => item != "b", 10));
        Assert.Empty(baselines.AssociationRules(["never-clicked"], All, 10));
        Assert.Empty(baselines.AssociationRules([], All, 10));

        // The same counts as cosines: Na = 3, Nb = 1, Nc = 2.
        Assert.Equal(2 / Math.Sqrt(6), baselines.Similarity("a", "c"), 12);
        Assert.Equal(2 / Math.Sqrt(6), baselines.Similarity("c", "a"), 12);
        Assert.Equal(1 / Math.Sqrt(3), baselines.Similarity("a", "b"), 12);
        Assert.Equal(0, baselines.Similarity("b", "c"));
        Assert.Equal(1, baselines.Similarity("a", "a"));
        Assert.Equal(0, baselines.Similarity("a", "never-clicked"));
        Assert.Equal(0, baselines.Similarity("never-clicked", "never-clicked"));
    }

    [Fact]
    public void Sequential_rules_weigh_one_over_the_gap_within_the_steps_and_only_forward()
    {
        string[] sessions =
        [
            "s1 a q", // SR(a, q) = 1
            "s2 a _1 p", // SR(a, p) += 1/2
            "s3 a _2 _3 p", // SR(a, p) += 1/3: 5/6
            "s4 a _4 r", // SR(a, r) = 1/2
            "s5 a _5 _6 s", // SR(a, s) += 1/3
            "s6 a _7 _8 s", // SR(a, s) += 1/3: 2/3
            "s7 a _9 _10 _11 t", // gap 4 > 3 steps: nothing
            "s8 t a", // t before a: SR(t, a), not SR(a, t)
            "s9 a _12 a u", // distinct items in first-click order a, _12, u: gap 2, 1/2 (level with r; r first by id)
        ];
        var baselines = Replay(new SessionBaselineOptions { SequentialSteps = 3 }, sessions);

        // 1/g: q 1 > p 0.83 > s 0.67 > r = u 0.5. A weight of 1 per rule would give p, s, q, r, u; 1/g² would put
        // r and u (0.25) above s (0.22).
        Assert.Equal(["q", "p", "s", "r", "u"], baselines.SequentialRules(["a"], NoFiller, 10));
        Assert.Equal(["a"], baselines.SequentialRules(["t"], All, 10));
        Assert.Empty(baselines.SequentialRules(["q"], All, 10));

        // One step: only the item right after a.
        var oneStep = Replay(new SessionBaselineOptions { SequentialSteps = 1 }, sessions);
        Assert.Equal(["q"], oneStep.SequentialRules(["a"], NoFiller, 10));
        Assert.Equal(["_1", "_12", "_2", "_4", "_5", "_7", "_9", "q"], oneStep.SequentialRules(["a"], All, 10));
    }

    [Fact]
    public void Item_knn_shrinkage_demotes_a_pair_seen_once_below_a_pair_seen_often()
    {
        // Na = 3, Nb = 1, Nc = 9; AR(a, b) = 1, AR(a, c) = 2. Cosine: b 1/√3 = 0.577 > c 2/√27 = 0.385. With λ = 20:
        // b 0.577 × 1/21 = 0.027 < c 0.385 × 2/22 = 0.035.
        string[] sessions = ["s1 a b", "s2 a c", "s3 a c", "s4 c", "s5 c", "s6 c", "s7 c", "s8 c", "s9 c", "s10 c"];

        var plain = Replay(new SessionBaselineOptions { ItemKnnShrinkage = 0 }, sessions);
        Assert.Equal(["b", "c"], plain.ItemKnn(["a"], All, 10));
        Assert.True(plain.Similarity("a", "b") > plain.Similarity("a", "c"));

        var shrunk = Replay(new SessionBaselineOptions { ItemKnnShrinkage = 20 }, sessions);
        Assert.Equal(["c", "b"], shrunk.ItemKnn(["a"], All, 10));
        Assert.Equal(["c"], shrunk.ItemKnn(["a"], All, 1));
        Assert.Equal(["a"], shrunk.ItemKnn(["b"], All, 10));
        Assert.Empty(shrunk.ItemKnn(["never-clicked"], All, 10));

        // One neighbour kept: c. The neighbourhood is chosen before the filter, so leaving c out leaves nothing.
        var oneNeighbor = Replay(new SessionBaselineOptions { ItemKnnShrinkage = 20, ItemKnnNeighbors = 1 }, sessions);
        Assert.Equal(["c"], oneNeighbor.ItemKnn(["a"], All, 10));
        Assert.Empty(oneNeighbor.ItemKnn(["a"], item => item != "c", 10));
    }

    [Fact]
    public void Session_knn_scores_the_items_of_the_sessions_most_like_the_current_one()
    {
        // A = {a, b, c}. n1 = {a, b, x}: 2/√9 = 0.667. n3 = {b, c, z, w}: 2/√12 = 0.577. n2 = {c, y}, repeats and
        // all: 1/√6 = 0.408 (counting clicks, 1/√12 = 0.289, below v). n4 = {a, v, v2}: 1/√9 = 0.333. n5 shares nothing.
        var baselines = Replay(
            new SessionBaselineOptions(),
            "cur a b c",
            "n1 a b x",
            "n2 c y c y",
            "n3 b c z w",
            "n4 a v v2",
            "n5 q r");
        Func<string, bool> notInSession = item => item is not ("a" or "b" or "c");

        Assert.Equal(["x", "w", "z", "y", "v", "v2"], baselines.SessionKnn("cur", ["a", "b", "c"], notInSession, 10));
        Assert.Equal(["x", "w"], baselines.SessionKnn("cur", ["a", "b", "c"], notInSession, 2));
        Assert.Equal(["w", "z", "v", "v2"], baselines.SessionKnn("cur", ["a", "b", "c"], item => item is "w" or "z" or "v" or "v2", 10));
        Assert.Empty(baselines.SessionKnn("cur", ["a", "b", "c"], notInSession, 0));
        Assert.Empty(baselines.SessionKnn("cur", [], All, 10));

        // The current session's own items are scored like any other: a from n1 and n4 (1.0), c from n3 and n2 (0.985), b
        // from n1 and n3 (1.244).
        Assert.Equal(["b", "a", "c", "x"], baselines.SessionKnn("cur", ["a", "b", "c"], All, 4));
    }

    [Fact]
    public void Session_knn_leaves_the_current_session_out_of_its_own_neighbours_and_of_the_sample()
    {
        // n1 = {a, b, x} and n2 = {b, c, x} are both 2/3 like A = {a, b, c}: b and x 4/3, a and c 2/3. Were the
        // current session its own neighbour (similarity 1), a, b and c would gain 1 and x fall to the end.
        var baselines = Replay(new SessionBaselineOptions(), "n1 a b x", "n2 b c x", "cur a b c");
        Assert.Equal(["b", "x", "a", "c"], baselines.SessionKnn("cur", ["a", "b", "c"], All, 10));

        // A sample of one: the most recent other session, n2 (cur is more recent but not a candidate).
        var sampleOfOne = Replay(new SessionBaselineOptions { SessionKnnSampleSize = 1 }, "n1 a b x", "n2 b c x", "cur a b c");
        Assert.Equal(["b", "c", "x"], sampleOfOne.SessionKnn("cur", ["a", "b", "c"], All, 10));

        // Asked for another session id, cur is a neighbour like any other: a, b and c gain 1, and x falls to the end.
        Assert.Equal(["b", "a", "c", "x"], baselines.SessionKnn("other", ["a", "b", "c"], All, 10));
    }

    [Fact]
    public void Session_knn_keeps_the_most_recent_sample_then_the_most_similar_neighbours_ties_to_the_more_recent()
    {
        // A = {a, b}. n1 = {a, b, x}: 2/√6 = 0.816; n2 = {a, y} and n3 = {a, z}: 1/√4 = 0.5 each. Recency: n1 < n2 < n3.
        string[] sessions = ["cur a b", "n1 a b x", "n2 a y", "n3 a z"];
        Func<string, bool> notInSession = item => item is not ("a" or "b");
        SessionBaselineOptions Options(int sample) => new() { SessionKnnNeighbors = 1, SessionKnnSampleSize = sample };

        Assert.Equal(["x"], Replay(Options(500), sessions).SessionKnn("cur", ["a", "b"], notInSession, 10));

        // The two most recent are n2 and n3, level: the more recent, n3, is the neighbour.
        var sampleOfTwo = Replay(Options(2), sessions);
        Assert.Equal(["z"], sampleOfTwo.SessionKnn("cur", ["a", "b"], notInSession, 10));

        // A repeated click makes n2 the most recent without changing its items: |B| stays 2, its similarity 0.5, so it
        // now wins the tie (counting clicks, 1/√6 = 0.41 would lose to n3).
        sampleOfTwo.Add("n2", "y");
        Assert.Equal(["y"], sampleOfTwo.SessionKnn("cur", ["a", "b"], notInSession, 10));

        var sampleOfOne = Replay(Options(1), sessions);
        Assert.Equal(["z"], sampleOfOne.SessionKnn("cur", ["a", "b"], notInSession, 10));
        sampleOfOne.Add("n1", "x");
        Assert.Equal(["x"], sampleOfOne.SessionKnn("cur", ["a", "b"], notInSession, 10));
    }

    [Fact]
    public void Interleaved_and_repeated_clicks_give_the_answers_of_each_session_clicked_once_per_item_in_turn()
    {
        // The same sessions, {a, b, c} {b, c, d} {a, d, e} in first-click order, clicked cleanly one after the other,
        // and interleaved with repeats.
        var clean = Replay(new SessionBaselineOptions { SequentialSteps = 2 }, "s1 a b c", "s2 b c d", "s3 a d e");
        var messy = new SessionBaselines(new SessionBaselineOptions { SequentialSteps = 2 });
        foreach (var (session, item) in new[]
                 {
                     ("s1", "a"), ("s2", "b"), ("s1", "a"), ("s3", "a"), ("s1", "b"), ("s2", "b"), ("s2", "c"),
                     ("s3", "a"), ("s1", "a"), ("s3", "d"), ("s1", "c"), ("s2", "d"), ("s1", "b"), ("s3", "e"), ("s3", "d"),
                 })
        {
            messy.Add(session, item);
        }

        Assert.Equal((3, 5), (messy.Sessions, messy.Items));

        // Worked out on the clean sessions: N = a 2, b 2, c 2, d 2, e 1; AR(a, ·) = b 1, c 1, d 1, e 1;
        // SR(a, ·) = b 1, c 1/2, d 1, e 1/2.
        Assert.Equal(["a", "b", "c", "d", "e"], clean.Popularity(All, 10));
        Assert.Equal(["b", "c", "d", "e"], clean.AssociationRules(["a"], All, 10));
        Assert.Equal(["b", "d", "c", "e"], clean.SequentialRules(["a"], All, 10));

        foreach (var baselines in new[] { clean, messy })
        {
            Assert.Equal(["a", "b", "c", "d", "e"], baselines.Popularity(All, 10));
            Assert.Equal(["b", "c", "d", "e"], baselines.AssociationRules(["a"], All, 10));
            Assert.Equal(["b", "d", "c", "e"], baselines.SequentialRules(["a"], All, 10));
        }

        foreach (var last in new[] { "a", "b", "c", "d", "e" })
        {
            Assert.Equal(clean.AssociationRules([last], All, 10), messy.AssociationRules([last], All, 10));
            Assert.Equal(clean.SequentialRules([last], All, 10), messy.SequentialRules([last], All, 10));
            Assert.Equal(clean.ItemKnn([last], All, 10), messy.ItemKnn([last], All, 10));
            foreach (var other in new[] { "a", "b", "c", "d", "e" })
            {
                Assert.Equal(clean.Similarity(last, other), messy.Similarity(last, other));
            }
        }

        Assert.Equal(clean.SessionKnn("s1", ["a", "b", "c"], All, 10), messy.SessionKnn("s1", ["a", "b", "c"], All, 10));
    }

    [Fact]
    public void Intra_list_diversity_is_one_minus_the_mean_pairwise_similarity()
    {
        var table = new Dictionary<(string, string), double> { [("a", "b")] = 1, [("a", "c")] = 0.5, [("b", "c")] = 0 };
        var asked = new List<(string, string)>();
        double Similarity(string x, string y)
        {
            asked.Add((x, y));
            return table.GetValueOrDefault((x, y));
        }

        // Pairs ab 1, ac 0.5, bc 0: mean 0.5.
        Assert.Equal(0.5, ListDiversity.IntraList(["a", "b", "c"], Similarity)!.Value, 12);
        Assert.Equal([("a", "b"), ("a", "c"), ("b", "c")], asked);

        // With d (0 with everything): 1.5 over six pairs.
        Assert.Equal(0.75, ListDiversity.IntraList(["a", "b", "c", "d"], Similarity)!.Value, 12);
        Assert.Equal(0, ListDiversity.IntraList(["a", "b"], Similarity)!.Value, 12);
        Assert.Equal(1, ListDiversity.IntraList(["b", "c"], Similarity)!.Value, 12);
        Assert.Null(ListDiversity.IntraList(["a"], Similarity));
        Assert.Null(ListDiversity.IntraList([], Similarity));

        // With the baselines' cosine: ab 1/√2, ac 1/√2, bc 0.
        var baselines = Replay(new SessionBaselineOptions(), "s1 a b", "s2 a c");
        Assert.Equal(1 - (Math.Sqrt(2) / 3), ListDiversity.IntraList(["a", "b", "c"], baselines.Similarity)!.Value, 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_method_agrees_with_a_naive_recount_from_the_click_log(int seed)
    {
        // Small limits, so that every cut (neighbours, sample, steps) bites; random interleaved sessions with repeats.
        var options = new SessionBaselineOptions
        {
            ItemKnnNeighbors = 3,
            ItemKnnShrinkage = 2,
            SequentialSteps = 2,
            SessionKnnNeighbors = 3,
            SessionKnnSampleSize = 6,
        };
        var random = new Random(seed);
        var baselines = new SessionBaselines(options);
        var clicks = new List<(string Session, string Item)>();
        Func<string, bool> allowed = item => !item.EndsWith('3');
        for (var n = 0; n < 600; n++)
        {
            var session = $"s{random.Next(40)}";
            var item = $"i{(int)Math.Floor(Math.Pow(random.NextDouble(), 2) * 30)}";

            // Ask before the click, as the harness does.
            if (n % 7 == 0 && clicks.Count > 0)
            {
                var oracle = new NaiveRecount(clicks, options);
                var current = oracle.ItemsOf(session);
                AssertTop(oracle.PopularityScores(), baselines.Popularity(allowed, 5), allowed, 5);
                if (current.Count > 0)
                {
                    AssertTop(oracle.AssociationScores(current[^1]), baselines.AssociationRules(current, allowed, 5), allowed, 5);
                    AssertTop(oracle.SequentialScores(current[^1]), baselines.SequentialRules(current, allowed, 5), allowed, 5);
                    AssertTop(oracle.ItemKnnScores(current[^1]), baselines.ItemKnn(current, allowed, 5), allowed, 5);
                    AssertTop(oracle.SessionKnnScores(session, current), baselines.SessionKnn(session, current, allowed, 5), allowed, 5);
                }
            }

            baselines.Add(session, item);
            clicks.Add((session, item));
        }
    }

    private static SessionBaselines Replay(SessionBaselineOptions options, params string[] sessions)
    {
        var baselines = new SessionBaselines(options);
        foreach (var line in sessions)
        {
            var parts = line.Split(' ');
            foreach (var item in parts[1..])
            {
                baselines.Add(parts[0], item);
            }
        }

        return baselines;
    }

    /// <summary>The answer is a best-first top list of the recount's allowed candidates. Sums of several terms may
    /// differ in the last bit from the recount's (another order of addition), so scores compare within 1e-9 and
    /// near-ties may come in either order.</summary>
    private static void AssertTop(Dictionary<string, double> scores, List<string> answer, Func<string, bool> allowed, int count)
    {
        const double Tolerance = 1e-9;
        var candidates = scores.Keys.Where(allowed).ToList();
        Assert.Equal(Math.Min(count, candidates.Count), answer.Count);
        Assert.Equal(answer.Count, answer.Distinct().Count());
        Assert.All(answer, item => Assert.Contains(item, candidates));
        for (var k = 1; k < answer.Count; k++)
        {
            Assert.True(scores[answer[k - 1]] >= scores[answer[k]] - Tolerance, $"{answer[k - 1]} before {answer[k]}");
        }

        if (answer.Count > 0)
        {
            var lowest = scores[answer[^1]];
            Assert.All(candidates.Except(answer), item => Assert.True(scores[item] <= lowest + Tolerance, $"{item} left out"));
        }
    }

    /// <summary>Each rule recounted from scratch from the click log, the plainest way.</summary>
    private sealed class NaiveRecount
    {
        private readonly SessionBaselineOptions _options;
        private readonly Dictionary<string, List<string>> _sessions = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _lastClick = new(StringComparer.Ordinal);

        public NaiveRecount(List<(string Session, string Item)> clicks, SessionBaselineOptions options)
        {
            _options = options;
            for (var n = 0; n < clicks.Count; n++)
            {
                var (session, item) = clicks[n];
                var items = _sessions.TryGetValue(session, out var known) ? known : _sessions[session] = [];
                if (!items.Contains(item))
                {
                    items.Add(item);
                }

                _lastClick[session] = n;
            }
        }

        public List<string> ItemsOf(string session) => _sessions.TryGetValue(session, out var items) ? [.. items] : [];

        public Dictionary<string, double> PopularityScores() =>
            _sessions.Values.SelectMany(s => s).GroupBy(i => i).ToDictionary(g => g.Key, g => (double)g.Count());

        public Dictionary<string, double> AssociationScores(string last) =>
            _sessions.Values.Where(s => s.Contains(last)).SelectMany(s => s).Where(j => j != last)
                .GroupBy(j => j).ToDictionary(g => g.Key, g => (double)g.Count());

        public Dictionary<string, double> SequentialScores(string last)
        {
            var scores = new Dictionary<string, double>();
            foreach (var items in _sessions.Values)
            {
                var at = items.IndexOf(last);
                for (var g = 1; at >= 0 && g <= _options.SequentialSteps && at + g < items.Count; g++)
                {
                    scores[items[at + g]] = scores.GetValueOrDefault(items[at + g]) + (1.0 / g);
                }
            }

            return scores;
        }

        public Dictionary<string, double> ItemKnnScores(string last)
        {
            var popularity = PopularityScores();
            var lambda = _options.ItemKnnShrinkage;
            return AssociationScores(last)
                .Select(e => (Item: e.Key, Sim: e.Value / Math.Sqrt(popularity[last] * popularity[e.Key]) * (e.Value / (e.Value + lambda))))
                .OrderByDescending(e => e.Sim)
                .ThenBy(e => e.Item, StringComparer.Ordinal)
                .Take(_options.ItemKnnNeighbors)
                .ToDictionary(e => e.Item, e => e.Sim);
        }

        public Dictionary<string, double> SessionKnnScores(string current, List<string> items)
        {
            var neighbors = _sessions
                .Where(s => s.Key != current && s.Value.Intersect(items).Any())
                .OrderByDescending(s => _lastClick[s.Key])
                .Take(_options.SessionKnnSampleSize)
                .Select(s => (Items: s.Value, Recency: _lastClick[s.Key],
                    Similarity: s.Value.Intersect(items).Count() / Math.Sqrt((double)items.Count * s.Value.Count)))
                .OrderByDescending(s => s.Similarity)
                .ThenByDescending(s => s.Recency)
                .Take(_options.SessionKnnNeighbors);
            var scores = new Dictionary<string, double>();
            foreach (var neighbor in neighbors)
            {
                foreach (var j in neighbor.Items)
                {
                    scores[j] = scores.GetValueOrDefault(j) + neighbor.Similarity;
                }
            }

            return scores;
        }
    }
}
