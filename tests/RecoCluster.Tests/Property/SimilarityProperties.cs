using FsCheck;
using FsCheck.Xunit;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Tests.Property;

/// <summary>Properties of the similarity measures, top-K selection and the co-occurrence update, over
/// generated inputs (FsCheck).</summary>
public sealed class SimilarityProperties
{
    private static readonly SimilarityMeasure[] Measures = Enum.GetValues<SimilarityMeasure>();

    [Property]
    public bool Every_measure_is_symmetric(NonNegativeInt c, PositiveInt ni, PositiveInt nj, NonNegativeInt extra)
    {
        var total = (long)ni.Get + nj.Get + extra.Get;
        return Measures.All(m => Similarity.Score(m, c.Get, ni.Get, nj.Get, total) == Similarity.Score(m, c.Get, nj.Get, ni.Get, total));
    }

    [Property]
    public bool Cosine_and_jaccard_lie_in_the_unit_interval_and_llr_is_never_negative(NonNegativeInt c, PositiveInt ni, PositiveInt nj, NonNegativeInt extra)
    {
        var total = (long)ni.Get + nj.Get + extra.Get;
        var cosine = Similarity.Score(SimilarityMeasure.Cosine, c.Get, ni.Get, nj.Get, total);
        var jaccard = Similarity.Score(SimilarityMeasure.Jaccard, c.Get, ni.Get, nj.Get, total);
        var llr = Similarity.Score(SimilarityMeasure.LogLikelihood, c.Get, ni.Get, nj.Get, total);
        return cosine is >= 0 and <= 1 + 1e-12 && jaccard is >= 0 and <= 1 + 1e-12 && llr >= 0 && !double.IsNaN(llr);
    }

    [Property]
    public bool Llr_of_any_table_is_never_negative(NonNegativeInt k11, NonNegativeInt k12, NonNegativeInt k21, NonNegativeInt k22) =>
        Similarity.LogLikelihoodRatio(k11.Get, k12.Get, k21.Get, k22.Get) >= 0;

    [Property]
    public bool Top_k_equals_the_first_k_of_a_full_sort(int[] scores, PositiveInt k)
    {
        var candidates = (scores ?? []).Select((s, i) => new Scored($"i{i % 7}-{i}", s % 5)).ToList();
        var expected = candidates.Order(TopK.BestFirst).Take(k.Get).ToList();
        return TopK.Select(candidates, k.Get).SequenceEqual(expected);
    }

    [Property]
    public bool Top_k_does_not_depend_on_input_order(int[] scores, PositiveInt k)
    {
        var candidates = (scores ?? []).Select((s, i) => new Scored($"i{i}", s % 3)).ToList();
        var reversed = Enumerable.Reverse(candidates).ToList();
        return TopK.Select(candidates, k.Get).SequenceEqual(TopK.Select(reversed, k.Get));
    }

    /// <summary>Users' streams applied in any interleaving of users give the same item counts: each user's
    /// contribution depends only on that user's own events, in order, and counts are sums.</summary>
    [Property(MaxTest = 200)]
    public bool Co_occurrence_counts_do_not_depend_on_the_order_of_users(byte[][] streams, int seed)
    {
        var users = (streams ?? []).Select((s, u) => (User: $"u{u}", Items: (s ?? []).Select(b => $"i{b % 12}").ToList())).ToList();
        var forward = Count(users.SelectMany(u => u.Items.Select(i => (u.User, i))));
        var random = new Random(seed);
        var shuffled = users.OrderBy(_ => random.Next()).ToList();
        // Round-robin interleaving of the shuffled users, each user's events still in their own order.
        var interleaved = new List<(string, string)>();
        for (var step = 0; shuffled.Any(u => step < u.Items.Count); step++)
        {
            interleaved.AddRange(shuffled.Where(u => step < u.Items.Count).Select(u => (u.User, u.Items[step])));
        }

        var other = Count(interleaved);
        return forward.Count.OrderBy(p => p.Key).SequenceEqual(other.Count.OrderBy(p => p.Key))
            && forward.Pairs.OrderBy(p => p.Key).SequenceEqual(other.Pairs.OrderBy(p => p.Key));
    }

    private static Sink Count(IEnumerable<(string User, string Item)> events)
    {
        var options = new UserGrainOptions { WindowSize = 5 };
        var grains = new Dictionary<string, UserModel>();
        var ids = new ItemIdTable();
        var sink = new Sink(ids);
        var t = DateTimeOffset.UnixEpoch;
        foreach (var (user, item) in events)
        {
            if (!grains.TryGetValue(user, out var grain))
            {
                grains[user] = grain = new UserModel(user, options, ids);
            }

            t = t.AddSeconds(1);
            grain.Apply(new ClickEvent(user, item, EventType.View, t), sink);
        }

        return sink;
    }

    private sealed class Sink(ItemIdTable ids) : IItemDeltaSink
    {
        public Dictionary<string, long> Count { get; } = [];

        public Dictionary<string, long> Pairs { get; } = [];

        public void AddCooccurrence(int item, int other, long count) =>
            Pairs[$"{ids[item]}|{ids[other]}"] = Pairs.GetValueOrDefault($"{ids[item]}|{ids[other]}") + count;

        public void AddItemCount(int item, long count) => Count[ids[item]] = Count.GetValueOrDefault(ids[item]) + count;

        public void AddPurchaseCooccurrence(int item, int other, long count) =>
            Pairs[$"p:{ids[item]}|{ids[other]}"] = Pairs.GetValueOrDefault($"p:{ids[item]}|{ids[other]}") + count;

        public void AddPurchaseCount(int item, long count) => Count["p:" + ids[item]] = Count.GetValueOrDefault("p:" + ids[item]) + count;

        public void AddNext(int item, int next, long weight) =>
            Pairs[$"s:{ids[item]}|{ids[next]}"] = Pairs.GetValueOrDefault($"s:{ids[item]}|{ids[next]}") + weight;

        public void AddFactorDelta(int item, ReadOnlySpan<float> delta) => throw new InvalidOperationException("no factor table was given");
    }
}
