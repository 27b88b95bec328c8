using System.Buffers;
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

    /// <summary>Often comes next after an item of the user's window (the sequential rules).</summary>
    Sequential,
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

    /// <summary>Weight of the sequential score: what comes next after the window's items (normalized to [0, 1]
    /// by the best candidate). 16, with <see cref="SequentialRecencyDecay"/> 0.3 and <see cref="FactorTrustItems"/>
    /// 20, was the best of the session protocol's grid on its validation period (docs/benchmarks.md): within a
    /// session, what comes next leads and the other sources order what it leaves level.</summary>
    public double SequentialWeight { get; set; } = 16;

    /// <summary>Weight of the factor model's score (by rank among its candidates, in [0, 1]).</summary>
    public double FactorWeight { get; set; } = 0.5;

    /// <summary>The factor model is trusted in proportion to the user's history: its weight is multiplied by
    /// min(1, window items / this). A visitor with two clicks has a vector close to its random start, whose
    /// candidates are noise. 0 trusts every vector fully. Above the window size (<c>Reco:Grains:User:WindowSize</c>)
    /// no user reaches full trust.</summary>
    public int FactorTrustItems { get; set; } = 20;

    /// <summary>Weight of "popular now" (normalized by the most popular item). 0.3 was the best hit rate on the
    /// retail evaluation (docs/benchmarks.md) without giving up much catalog coverage.</summary>
    public double PopularityWeight { get; set; } = 0.3;

    /// <summary>How much each older window item counts relative to the one after it (0.85: the tenth most
    /// recent moment counts a quarter as much as the latest). Items with the same timestamp count the same.</summary>
    public double RecencyDecay { get; set; } = 0.85;

    /// <summary>How much each older window item counts for the sequential rules relative to the one after it, by
    /// position (the latest click counts 1, the one before it this much, and so on): what comes next depends
    /// mostly on the last click.</summary>
    public double SequentialRecencyDecay { get; set; } = 0.3;

    /// <summary>The sequential rules speak only within the visitor's current session: when the request comes at
    /// most this many seconds after the user's latest event (30 minutes, the usual inactivity cut of a web
    /// session). A customer back after days gets no "what comes next after" their last visit's last click. 0: no
    /// limit.</summary>
    public int SessionGapSeconds { get; set; } = 1_800;

    /// <summary>Leave out items in the user's window.</summary>
    public bool ExcludeSeen { get; set; } = true;

    /// <summary>Leave out items the user bought (while in the window). Only matters with <see cref="ExcludeSeen"/> off.</summary>
    public bool ExcludePurchased { get; set; } = true;

    /// <summary>Candidates taken from the factor model per request.</summary>
    public int FactorCandidates { get; set; } = 100;

    /// <summary>A copy to change (every setting is a value, so a shallow copy is a whole one): the quality
    /// harnesses derive their blends from the configured one this way, so that a new setting is never dropped.</summary>
    public RecommenderOptions Clone() => (RecommenderOptions)MemberwiseClone();
}

/// <summary>
/// Serving from a prepared snapshot: candidate generation, blending, filtering and reasons. Pure: the silo calls
/// it with a user's window and vector (read in the grain's turn) and its current snapshot; the quality harness
/// calls the same code.
/// </summary>
public static class Recommender
{
    /// <summary>Recommendations for a user. A user with no window and no vector gets popular items.</summary>
    /// <param name="input">The user's window and vector.</param>
    /// <param name="snapshot">The snapshot to serve from.</param>
    /// <param name="isAvailable">The catalog's filter.</param>
    /// <param name="options">The blend.</param>
    /// <param name="count">Items wanted.</param>
    /// <param name="now">When the request is served, for <see cref="RecommenderOptions.SessionGapSeconds"/>; null
    /// treats the user as in session.</param>
    public static List<Recommendation> ForUser(RecommendationInput input, RecoSnapshot snapshot, Func<string, bool> isAvailable, RecommenderOptions options, int count, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(isAvailable);
        ArgumentNullException.ThrowIfNull(options);
        var candidates = AnswerCandidates.Rent();
        try
        {
            // The window's items that the options leave out go in first, excluded: every later source then finds
            // them there, and the filters run once per item (a window's neighbors repeat a lot).
            foreach (var r in input.Recent)
            {
                if (options.ExcludeSeen || (options.ExcludePurchased && r.Purchased))
                {
                    candidates.GetOrAdd(r.ItemId, out _).Excluded = true;
                }
            }

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
                    ref var c = ref Admit(candidates, n.ItemId, isAvailable);
                    if (c.Excluded)
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

            // What comes next after the window's items, the latest click counting most, the one before it
            // SequentialRecencyDecay as much, and so on; older items stop adding once their weight is negligible.
            var sequentialWeight = HasLastClick(input, options.SessionGapSeconds, now) ? options.SequentialWeight : 0;
            if (sequentialWeight > 0)
            {
                var weight = 1.0;
                foreach (var r in input.Recent)
                {
                    if (weight < 0.01)
                    {
                        break;
                    }

                    foreach (var n in snapshot.Find(r.ItemId)?.Next ?? [])
                    {
                        ref var c = ref Admit(candidates, n.ItemId, isAvailable);
                        if (c.Excluded)
                        {
                            continue;
                        }

                        var contribution = weight * n.Score;
                        c.Sequential += contribution;
                        if (contribution > c.BestSequential)
                        {
                            c.BestSequential = contribution;
                            c.NextAfter = r;
                        }
                    }

                    weight *= options.SequentialRecencyDecay;
                }
            }

            candidates.NormalizeSources();
            var factorWeight = options.FactorWeight * FactorTrust(input.Recent.Count, options.FactorTrustItems);
            if (factorWeight > 0 && input.Factors is { } user)
            {
                AddFactorCandidates(candidates, user, snapshot.Factors, isAvailable, options.FactorCandidates);
            }

            if (options.PopularityWeight > 0 || Included(candidates) < count)
            {
                AddPopular(candidates, snapshot, isAvailable, count);
            }

            return Blend(candidates, new BlendWeights(options.NeighborhoodWeight, sequentialWeight, factorWeight, options.PopularityWeight), count);
        }
        finally
        {
            AnswerCandidates.Return(candidates);
        }
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
        var bought = AnswerCandidates.Rent();
        var seen = AnswerCandidates.Rent();
        try
        {
            foreach (var item in inBasket)
            {
                var entry = snapshot.Find(item);
                Accumulate(bought, entry?.BoughtTogether ?? [], item, Allowed);
                Accumulate(seen, entry?.Similar ?? [], item, Allowed);
            }

            bought.NormalizeSources();
            seen.NormalizeSources();
            var result = new List<Recommendation>(count);
            foreach (var c in ByNeighborhood(bought.Items))
            {
                result.Add(new Recommendation(c.ItemId, 1.0 + c.Neighborhood, $"often bought together with {c.BecauseOf!.Value.ItemId}", CandidateSource.BoughtTogether, c.BecauseOf.Value.ItemId));
            }

            foreach (var c in ByNeighborhood(seen.Items))
            {
                if (!bought.ContainsIncluded(c.ItemId))
                {
                    result.Add(new Recommendation(c.ItemId, 0.5 * c.Neighborhood, $"often seen together with {c.BecauseOf!.Value.ItemId}", CandidateSource.Neighborhood, c.BecauseOf.Value.ItemId));
                }
            }

            if (result.Count < count)
            {
                var have = new HashSet<string>(result.Select(r => r.ItemId), StringComparer.Ordinal);
                result.AddRange(Popular(snapshot, i => Allowed(i) && !have.Contains(i), count - result.Count).Select(p => p with { Score = 0.01 * p.Score }));
            }

            return result.Count > count ? result[..count] : result;
        }
        finally
        {
            AnswerCandidates.Return(seen);
            AnswerCandidates.Return(bought);
        }
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

    /// <summary>
    /// Whether the user has a last click for the sequential rules to follow: the window's latest moment holds one
    /// item (items posted at the same moment, such as an order's lines, have no order among them, so none of them
    /// is the last), and the request at <paramref name="now"/> is within <paramref name="gapSeconds"/> of it (the
    /// same session; by event timestamps, so a clock behind the producer's counts as in session; null or a gap of
    /// 0 leaves time out).
    /// </summary>
    public static bool HasLastClick(RecommendationInput input, int gapSeconds, DateTimeOffset? now)
    {
        ArgumentNullException.ThrowIfNull(input);
        var latest = long.MinValue;
        var atLatest = 0;
        foreach (var r in input.Recent)
        {
            if (r.LastSeenMs > latest)
            {
                (latest, atLatest) = (r.LastSeenMs, 1);
            }
            else if (r.LastSeenMs == latest)
            {
                atLatest++;
            }
        }

        return atLatest == 1 && (now is null || gapSeconds <= 0 || now.Value.ToUnixTimeMilliseconds() - latest <= gapSeconds * 1_000L);
    }

    /// <summary>How far the factor model is trusted for a user with <paramref name="windowItems"/> items in the
    /// window: min(1, windowItems / trustItems), or 1 when <paramref name="trustItems"/> is 0.</summary>
    public static double FactorTrust(int windowItems, int trustItems) =>
        trustItems <= 0 ? 1 : Math.Min(1, windowItems / (double)trustItems);

    /// <summary>The verb a reason uses for an event type.</summary>
    public static string Verb(EventType type) => type switch
    {
        EventType.View => "viewed",
        EventType.Click => "clicked",
        EventType.AddToCart => "added to your cart",
        _ => "bought",
    };

    // The slot of an item met by a source, checked against the filters the first time it comes up: one that fails
    // them stays in the table as excluded. Items the window's options leave out are in the table already.
    private static ref AnswerCandidate Admit(AnswerCandidates candidates, string itemId, Func<string, bool> isAvailable)
    {
        ref var c = ref candidates.GetOrAdd(itemId, out var added);
        if (added && !isAvailable(itemId))
        {
            c.Excluded = true;
        }

        return ref c;
    }

    private static int Included(AnswerCandidates candidates)
    {
        var included = 0;
        foreach (ref readonly var c in candidates.Items)
        {
            if (!c.Excluded)
            {
                included++;
            }
        }

        return included;
    }

    // Brute force over the snapshot's table: one dot product per item (FactorTable.Score, SIMD). Linear in the
    // catalog (docs/benchmarks.md gives the cost per answer at 2,000 and 100,000 items); an ANN index is the next
    // step beyond that. The best `take` rows are ranked first and filtered after, so a rank is a position among the
    // allowed items of the model's top `take`.
    private static void AddFactorCandidates(AnswerCandidates candidates, float[] user, FactorTable table, Func<string, bool> isAvailable, int take)
    {
        var rows = table.Count;
        if (rows == 0 || table.Dimensions != user.Length || take <= 0)
        {
            return;
        }

        // Every row is scored, so scoring is the answer's cost on a large catalog: the heap is touched only by a row
        // that beats the worst kept (a few hundred of 100,000 rows), not by every row.
        var scores = ArrayPool<float>.Shared.Rent(rows);
        var heap = candidates.FactorHeap;
        heap.Clear();
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

        var ranked = candidates.RankBuffer(heap.Count);
        var kept = 0;
        while (heap.TryDequeue(out var row, out var score))
        {
            var itemId = table.Ids[row];
            if (!Admit(candidates, itemId, isAvailable).Excluded)
            {
                ranked[kept++] = new Scored(itemId, score);
            }
        }

        Array.Sort(ranked, 0, kept, TopK.BestFirst);
        for (var rank = 0; rank < kept; rank++)
        {
            candidates.GetOrAdd(ranked[rank].ItemId, out _).Factor = 1.0 - (rank / (double)kept);
        }
    }

    private static void AddPopular(AnswerCandidates candidates, RecoSnapshot snapshot, Func<string, bool> isAvailable, int count)
    {
        if (snapshot.Popular.Count == 0)
        {
            return;
        }

        var top = snapshot.Popular[0].Score;
        var added = 0;
        foreach (var p in snapshot.Popular)
        {
            ref var c = ref Admit(candidates, p.ItemId, isAvailable);
            if (c.Excluded)
            {
                continue;
            }

            c.Popularity = p.Score / top;
            if (++added >= Math.Max(count, 20))
            {
                break;
            }
        }
    }

    private static void Accumulate(AnswerCandidates into, Scored[] neighbors, string from, Func<string, bool> allowed)
    {
        foreach (var n in neighbors)
        {
            if (!allowed(n.ItemId))
            {
                continue;
            }

            ref var c = ref into.GetOrAdd(n.ItemId, out _);
            c.Neighborhood += n.Score;
            if (n.Score > c.BestContribution)
            {
                c.BestContribution = n.Score;
                c.BecauseOf = new RecentInteraction(from, EventType.Purchase, 0, true);
            }
        }
    }

    // A cart's candidates, the strongest first (ties by item id); a copy, as the table goes back after the answer.
    private static AnswerCandidate[] ByNeighborhood(Span<AnswerCandidate> candidates)
    {
        var ordered = candidates.ToArray();
        Array.Sort(ordered, static (a, b) =>
        {
            var byNeighborhood = b.Neighborhood.CompareTo(a.Neighborhood);
            return byNeighborhood != 0 ? byNeighborhood : string.CompareOrdinal(a.ItemId, b.ItemId);
        });
        return ordered;
    }

    private readonly record struct BlendWeights(double Neighborhood, double Sequential, double Factor, double Popularity);

    private static List<Recommendation> Blend(AnswerCandidates candidates, BlendWeights w, int count)
    {
        // The best `count` of the candidates (a window's neighbors make a thousand or so), kept best first by
        // insertion: a candidate that does not beat the worst kept costs one comparison, and `count` is small
        // (a page of recommendations), so the shifts of the few that do cost less than a heap would.
        var items = candidates.Items;
        var best = ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
        try
        {
            var kept = 0;
            for (var i = 0; i < items.Length; i++)
            {
                ref var c = ref items[i];
                if (c.Excluded)
                {
                    continue;
                }

                c.Score = (w.Neighborhood * c.Neighborhood) + (w.Sequential * c.Sequential) + (w.Factor * c.Factor) + (w.Popularity * c.Popularity);
                if (count <= 0 || (kept == count && !Better(in c, in items[best[kept - 1]])))
                {
                    continue;
                }

                var at = kept < count ? kept++ : kept - 1;
                while (at > 0 && Better(in c, in items[best[at - 1]]))
                {
                    best[at] = best[at - 1];
                    at--;
                }

                best[at] = i;
            }

            var result = new List<Recommendation>(kept);
            for (var k = 0; k < kept; k++)
            {
                ref readonly var c = ref items[best[k]];
                // The reason is the source that gave the item the most score.
                var n = w.Neighborhood * c.Neighborhood;
                var s = w.Sequential * c.Sequential;
                var f = w.Factor * c.Factor;
                if (s >= n && s >= f && s > 0 && c.NextAfter is { } after)
                {
                    result.Add(new Recommendation(c.ItemId, c.Score, $"often next after {after.ItemId}, which you {Verb(after.LastType)}", CandidateSource.Sequential, after.ItemId));
                }
                else if (n >= f && n > 0 && c.BecauseOf is { } because)
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
        finally
        {
            ArrayPool<int>.Shared.Return(best);
        }
    }

    // Best first is: higher score, then (ties: popular fillers at weight 0, for one) the more popular item, then the
    // item id.
    private static bool Better(in AnswerCandidate a, in AnswerCandidate b)
    {
        var byScore = a.Score.CompareTo(b.Score);
        if (byScore != 0)
        {
            return byScore > 0;
        }

        var byPopularity = a.Popularity.CompareTo(b.Popularity);
        return byPopularity != 0 ? byPopularity > 0 : string.CompareOrdinal(a.ItemId, b.ItemId) < 0;
    }
}
