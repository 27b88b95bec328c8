using System.Buffers;
using System.Runtime.InteropServices;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Algorithms;

/// <summary>Where a recommended item came from.</summary>
public enum CandidateSource
{
    /// <summary>A neighbor of an item in the user's window (or of the requested item).</summary>
    Neighborhood,

    /// <summary>The factor model's top items for the user.</summary>
    Factors,

    /// <summary>Bought together with an item of the basket.</summary>
    BoughtTogether,

    /// <summary>Similar by catalog content (category and tags): the path for new items.</summary>
    Content,

    /// <summary>Popular now (time-decayed).</summary>
    Popular,
}

/// <summary>One recommended item.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Score">The blended score; larger is better; comparable within one answer only.</param>
/// <param name="Reason">A sentence a shopper could read ("because you viewed sku-9").</param>
/// <param name="Source">The source that contributed most.</param>
/// <param name="BecauseOf">The item the reason names, if any.</param>
public sealed record Recommendation(string ItemId, double Score, string Reason, CandidateSource Source, string? BecauseOf = null);

/// <summary>How recommendations are blended and filtered. Section <c>Reco:Recommendations</c>.</summary>
public sealed class RecommenderOptions
{
    public const string Section = "Reco:Recommendations";

    /// <summary>Weight of the neighborhood score (normalized to [0, 1] by the best candidate).</summary>
    public double NeighborhoodWeight { get; set; } = 1.0;

    /// <summary>Weight of the factor model's score (by rank among its candidates, in [0, 1]).</summary>
    public double FactorWeight { get; set; } = 0.5;

    /// <summary>Weight of "popular now" (normalized by the most popular item). 0.3 was the best hit rate on the
    /// retail evaluation (docs/benchmarks.md) without giving up much catalog coverage.</summary>
    public double PopularityWeight { get; set; } = 0.3;

    /// <summary>How much each older window item counts relative to the one after it (0.85: the tenth most
    /// recent moment counts a quarter as much as the latest). Items with the same timestamp count the same.</summary>
    public double RecencyDecay { get; set; } = 0.85;

    /// <summary>Leave out items in the user's window.</summary>
    public bool ExcludeSeen { get; set; } = true;

    /// <summary>Leave out items the user bought (while in the window). Only matters with <see cref="ExcludeSeen"/> off.</summary>
    public bool ExcludePurchased { get; set; } = true;

    /// <summary>Candidates taken from the factor model per request.</summary>
    public int FactorCandidates { get; set; } = 100;
}

/// <summary>
/// Serving from a prepared snapshot: candidate generation, blending, filtering and reasons. Pure: the silo calls
/// it with a user's window and vector (read in the grain's turn) and its current snapshot; the quality harness
/// calls the same code.
/// </summary>
public static class Recommender
{
    /// <summary>Recommendations for a user. A user with no window and no vector gets popular items.</summary>
    public static List<Recommendation> ForUser(RecommendationInput input, RecoSnapshot snapshot, Func<string, bool> isAvailable, RecommenderOptions options, int count)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(isAvailable);
        ArgumentNullException.ThrowIfNull(options);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var bought = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in input.Recent)
        {
            seen.Add(r.ItemId);
            if (r.Purchased)
            {
                bought.Add(r.ItemId);
            }
        }

        bool Allowed(string item) =>
            !(options.ExcludeSeen && seen.Contains(item)) && !(options.ExcludePurchased && bought.Contains(item)) && isAvailable(item);

        var candidates = new Dictionary<string, Candidate>(256, StringComparer.Ordinal);

        // Neighbors of the window's items, the more recent counting more; the reason names the item that
        // contributed most. Items touched at the same moment (one basket, one invoice) are equally recent: the
        // weight steps down only where the timestamp changes, not with their order in the window.
        var recency = 1.0;
        long? previousSeen = null;
        foreach (var r in input.Recent)
        {
            if (previousSeen is { } seenAt && seenAt != r.LastSeenMs)
            {
                recency *= options.RecencyDecay;
            }

            previousSeen = r.LastSeenMs;
            foreach (var n in snapshot.Find(r.ItemId)?.Similar ?? [])
            {
                // One lookup per neighbor: an item is checked against the filters once, the first time it comes up,
                // and one that fails them stays in the map as Excluded (a window's neighbors repeat a lot).
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(candidates, n.ItemId, out var known);
                if (!known)
                {
                    slot = Allowed(n.ItemId) ? new Candidate(n.ItemId) : Candidate.Excluded;
                }

                var c = slot!;
                if (ReferenceEquals(c, Candidate.Excluded))
                {
                    continue;
                }

                var contribution = recency * n.Score;
                c.Neighborhood += contribution;
                if (contribution > c.BestContribution)
                {
                    c.BestContribution = contribution;
                    c.BecauseOf = r;
                }
            }
        }

        RemoveExcluded(candidates);
        Normalize(candidates.Values, c => c.Neighborhood, (c, v) => c.Neighborhood = v);

        if (options.FactorWeight > 0 && input.Factors is { } user)
        {
            var ranked = FactorCandidates(user, snapshot.Factors, Allowed, options.FactorCandidates);
            for (var rank = 0; rank < ranked.Count; rank++)
            {
                Get(candidates, ranked[rank].ItemId).Factor = 1.0 - (rank / (double)ranked.Count);
            }
        }

        if (options.PopularityWeight > 0 || candidates.Count < count)
        {
            AddPopular(candidates, snapshot, Allowed, count);
        }

        return Blend(candidates, options.NeighborhoodWeight, options.FactorWeight, options.PopularityWeight, count);
    }

    /// <summary>An item's neighbors from the snapshot (no content fallback here: the catalog does that).</summary>
    public static List<Recommendation> Similar(string itemId, RecoSnapshot snapshot, Func<string, bool> isAvailable, int count)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(isAvailable);
        return (snapshot.Find(itemId)?.Similar ?? [])
            .Where(n => isAvailable(n.ItemId))
            .Take(count)
            .Select(n => new Recommendation(n.ItemId, n.Score, $"often seen together with {itemId}", CandidateSource.Neighborhood, itemId))
            .ToList();
    }

    /// <summary>Complements for a basket: items bought together with its items (summed), then items often seen
    /// with them at half weight, then popular items to fill.</summary>
    public static List<Recommendation> Cart(IReadOnlyList<string> basket, RecoSnapshot snapshot, Func<string, bool> isAvailable, int count)
    {
        ArgumentNullException.ThrowIfNull(basket);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(isAvailable);
        var inBasket = new HashSet<string>(basket, StringComparer.Ordinal);
        bool Allowed(string item) => !inBasket.Contains(item) && isAvailable(item);
        var bought = new Dictionary<string, Candidate>(StringComparer.Ordinal);
        var seen = new Dictionary<string, Candidate>(StringComparer.Ordinal);
        foreach (var item in inBasket)
        {
            var entry = snapshot.Find(item);
            Accumulate(bought, entry?.BoughtTogether ?? [], item, Allowed);
            Accumulate(seen, entry?.Similar ?? [], item, Allowed);
        }

        Normalize(bought.Values, c => c.Neighborhood, (c, v) => c.Neighborhood = v);
        Normalize(seen.Values, c => c.Neighborhood, (c, v) => c.Neighborhood = v);
        var result = new List<Recommendation>(count);
        foreach (var c in bought.Values.OrderByDescending(c => c.Neighborhood).ThenBy(c => c.ItemId, StringComparer.Ordinal))
        {
            result.Add(new Recommendation(c.ItemId, 1.0 + c.Neighborhood, $"often bought together with {c.BecauseOf!.Value.ItemId}", CandidateSource.BoughtTogether, c.BecauseOf.Value.ItemId));
        }

        foreach (var c in seen.Values.Where(c => !bought.ContainsKey(c.ItemId)).OrderByDescending(c => c.Neighborhood).ThenBy(c => c.ItemId, StringComparer.Ordinal))
        {
            result.Add(new Recommendation(c.ItemId, 0.5 * c.Neighborhood, $"often seen together with {c.BecauseOf!.Value.ItemId}", CandidateSource.Neighborhood, c.BecauseOf.Value.ItemId));
        }

        if (result.Count < count)
        {
            var have = new HashSet<string>(result.Select(r => r.ItemId), StringComparer.Ordinal);
            result.AddRange(Popular(snapshot, i => Allowed(i) && !have.Contains(i), count - result.Count).Select(p => p with { Score = 0.01 * p.Score }));
        }

        return result.Count > count ? result[..count] : result;
    }

    /// <summary>Popular now, best first, available items only; scores relative to the snapshot's most popular item
    /// (1 when that one is available), so a score means the same whatever the filter took out.</summary>
    public static List<Recommendation> Popular(RecoSnapshot snapshot, Func<string, bool> isAvailable, int count)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(isAvailable);
        var top = snapshot.Popular.Count == 0 ? 1 : snapshot.Popular[0].Score;
        return snapshot.Popular
            .Where(p => isAvailable(p.ItemId))
            .Take(count)
            .Select(p => new Recommendation(p.ItemId, p.Score / top, "popular now", CandidateSource.Popular))
            .ToList();
    }

    /// <summary>The verb a reason uses for an event type.</summary>
    public static string Verb(EventType type) => type switch
    {
        EventType.View => "viewed",
        EventType.Click => "clicked",
        EventType.AddToCart => "added to your cart",
        _ => "bought",
    };

    // Brute force over the snapshot's table: one dot product per item (FactorTable.Score, SIMD). Linear in the
    // catalog (docs/benchmarks.md gives the cost per answer at 2,000 and 100,000 items); an ANN index is the next
    // step beyond that.
    private static List<Scored> FactorCandidates(float[] user, FactorTable table, Func<string, bool> allowed, int take)
    {
        var rows = table.Count;
        if (rows == 0 || table.Dimensions != user.Length || take <= 0)
        {
            return [];
        }

        // Every row is scored, so scoring is the answer's cost on a large catalog: the heap is touched only by a row
        // that beats the worst kept (a few hundred of 100,000 rows), not by every row.
        var scores = ArrayPool<float>.Shared.Rent(rows);
        var heap = new PriorityQueue<int, float>(take + 1);
        try
        {
            table.Score(user, scores);
            var worst = float.NegativeInfinity;
            for (var row = 0; row < rows; row++)
            {
                var score = scores[row];
                if (heap.Count < take)
                {
                    heap.Enqueue(row, score);
                    if (heap.Count == take)
                    {
                        heap.TryPeek(out _, out worst);
                    }
                }
                else if (score > worst)
                {
                    heap.EnqueueDequeue(row, score);
                    heap.TryPeek(out _, out worst);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
        }

        var result = new List<Scored>(heap.Count);
        while (heap.TryDequeue(out var row, out var score))
        {
            if (allowed(table.Ids[row]))
            {
                result.Add(new Scored(table.Ids[row], score));
            }
        }

        result.Sort(TopK.BestFirst);
        return result;
    }

    private static void AddPopular(Dictionary<string, Candidate> candidates, RecoSnapshot snapshot, Func<string, bool> allowed, int count)
    {
        if (snapshot.Popular.Count == 0)
        {
            return;
        }

        var top = snapshot.Popular[0].Score;
        var added = 0;
        foreach (var p in snapshot.Popular)
        {
            if (!allowed(p.ItemId))
            {
                continue;
            }

            Get(candidates, p.ItemId).Popularity = p.Score / top;
            if (++added >= Math.Max(count, 20))
            {
                break;
            }
        }
    }

    private static void Accumulate(Dictionary<string, Candidate> into, Scored[] neighbors, string from, Func<string, bool> allowed)
    {
        foreach (var n in neighbors)
        {
            if (!allowed(n.ItemId))
            {
                continue;
            }

            var c = Get(into, n.ItemId);
            c.Neighborhood += n.Score;
            if (n.Score > c.BestContribution)
            {
                c.BestContribution = n.Score;
                c.BecauseOf = new RecentInteraction(from, EventType.Purchase, 0, true);
            }
        }
    }

    private static List<Recommendation> Blend(Dictionary<string, Candidate> candidates, double wn, double wf, double wp, int count)
    {
        // The best `count` of the candidates (a window's neighbors make a thousand or so) through a bounded heap
        // whose root is the worst kept: sorting them all cost more than the rest of the answer.
        var heap = new PriorityQueue<Candidate, Candidate>(count + 1, WorstFirst);
        foreach (var c in candidates.Values)
        {
            c.Score = (wn * c.Neighborhood) + (wf * c.Factor) + (wp * c.Popularity);
            if (heap.Count < count)
            {
                heap.Enqueue(c, c);
            }
            else if (count > 0 && WorstFirst.Compare(heap.Peek(), c) < 0)
            {
                heap.EnqueueDequeue(c, c);
            }
        }

        var best = new Candidate[heap.Count];
        for (var i = best.Length - 1; i >= 0; i--)
        {
            best[i] = heap.Dequeue();
        }

        var result = new List<Recommendation>(best.Length);
        foreach (var c in best)
        {
            var n = wn * c.Neighborhood;
            var f = wf * c.Factor;
            if (n >= f && n > 0 && c.BecauseOf is { } because)
            {
                result.Add(new Recommendation(c.ItemId, c.Score, $"because you {Verb(because.LastType)} {because.ItemId}", CandidateSource.Neighborhood, because.ItemId));
            }
            else if (f > 0)
            {
                result.Add(new Recommendation(c.ItemId, c.Score, "matches your taste (learned from your history)", CandidateSource.Factors));
            }
            else
            {
                result.Add(new Recommendation(c.ItemId, c.Score, "popular now", CandidateSource.Popular));
            }
        }

        return result;
    }

    // Best first is: higher score, then (ties: popular fillers at weight 0, for one) the more popular item, then the
    // item id. This orders the other way round, so that a heap's root is the candidate to evict.
    private static readonly IComparer<Candidate> WorstFirst = Comparer<Candidate>.Create(static (a, b) =>
    {
        var byScore = a.Score.CompareTo(b.Score);
        if (byScore != 0)
        {
            return byScore;
        }

        var byPopularity = a.Popularity.CompareTo(b.Popularity);
        return byPopularity != 0 ? byPopularity : string.CompareOrdinal(b.ItemId, a.ItemId);
    });

    private static void Normalize(IEnumerable<Candidate> candidates, Func<Candidate, double> get, Action<Candidate, double> set)
    {
        var list = candidates as ICollection<Candidate> ?? candidates.ToList();
        var max = list.Count == 0 ? 0 : list.Max(get);
        if (max <= 0)
        {
            return;
        }

        foreach (var c in list)
        {
            set(c, get(c) / max);
        }
    }

    private static Candidate Get(Dictionary<string, Candidate> candidates, string itemId)
    {
        if (!candidates.TryGetValue(itemId, out var c))
        {
            candidates[itemId] = c = new Candidate(itemId);
        }

        return c;
    }

    private static void RemoveExcluded(Dictionary<string, Candidate> candidates)
    {
        foreach (var (itemId, c) in candidates)
        {
            if (ReferenceEquals(c, Candidate.Excluded))
            {
                candidates.Remove(itemId);
            }
        }
    }

    private sealed class Candidate(string itemId)
    {
        /// <summary>Stands for an item the filters leave out, while the neighbors are gathered.</summary>
        public static readonly Candidate Excluded = new(string.Empty);

        public string ItemId { get; } = itemId;

        public double Neighborhood { get; set; }

        public double Factor { get; set; }

        public double Popularity { get; set; }

        public double BestContribution { get; set; }

        public RecentInteraction? BecauseOf { get; set; }

        public double Score { get; set; }
    }
}
