using System.Runtime.InteropServices;

namespace RecoCluster.Bench.Quality.Sessions;

/// <summary>
/// The textbook session-based baselines for the next-item ("session") protocol: popularity, association rules,
/// sequential rules, item-kNN on the last item and session-kNN. Written on purpose without any of the engine's
/// code, so that they are a genuine second opinion on it.
/// </summary>
/// <remarks>
/// <para>
/// A session is the set of the distinct items it clicked, in first-click order: a click on an item the session
/// already holds changes nothing but the session's recency (its latest click), for every rule below. Every count
/// is live: it includes every click added so far. The harness asks just before it adds the click it scores, so the
/// target never leaks into its own prediction.
/// </para>
/// <para>
/// With Nᵢ the number of sessions holding item i, and "last" the most recent item of the current session:
/// <list type="bullet">
/// <item><description>Popularity: score of j = Nⱼ.</description></item>
/// <item><description>Association rules: AR(i, j) = the number of sessions holding both i and j (i ≠ j),
/// symmetric; score of j = AR(last, j).</description></item>
/// <item><description>Item-kNN: sim(i, j) = c / √(Nᵢ·Nⱼ) × c / (c + λ), with c = AR(i, j) and
/// λ = <see cref="SessionBaselineOptions.ItemKnnShrinkage"/>. The last item keeps its
/// <see cref="SessionBaselineOptions.ItemKnnNeighbors"/> best neighbours by sim (ties: ordinal item id), before any
/// filter; score of j = sim(last, j) for a kept neighbour j.</description></item>
/// <item><description>Sequential rules: when a session's new distinct item j arrives, SR(i, j) += 1/g for the
/// items i that are the g-th most recent distinct items of the session before j (g = 1 the one just before it),
/// g = 1 … <see cref="SessionBaselineOptions.SequentialSteps"/>; "most recent" is in first-click order, like
/// everything else. Directed: nothing counts for an item clicked after j. Score of j = SR(last, j).</description></item>
/// <item><description>Session-kNN: see <see cref="SessionKnn"/>.</description></item>
/// </list>
/// </para>
/// <para>
/// Every method answers the best <c>count</c> item ids, best first, ties broken by ordinal item id, leaving out the
/// items <c>allowed</c> rejects; fewer when the candidates run out (no popularity fill: these are the pure methods).
/// No method leaves out the current session's own items by itself: that is the filter's job, the same filter for
/// every method of the harness.
/// </para>
/// <para>
/// Items and sessions are dense integers. The pair counts (AR, SR) are kept up to date on every new distinct
/// click, so a rule request reads one item's row. Not thread-safe: requests reuse scratch buffers, and the
/// harness replays clicks on one thread.
/// </para>
/// </remarks>
public sealed class SessionBaselines
{
    private readonly SessionBaselineOptions _options;

    private readonly Dictionary<string, int> _itemIndex = new(StringComparer.Ordinal);
    private readonly List<string> _itemIds = [];

    // Per item: the sessions that hold it (its count is Nᵢ); AR(i, ·); SR(i, ·).
    private readonly List<List<int>> _sessionsOfItem = [];
    private readonly List<Dictionary<int, int>> _together = [];
    private readonly List<Dictionary<int, double>> _followedBy = [];

    // Items by Nᵢ, best first, ties by ordinal id. Its comparer reads the live counts, so an item leaves the set
    // before its count changes and comes back after.
    private readonly SortedSet<int> _byPopularity;

    private readonly Dictionary<string, int> _sessionIndex = new(StringComparer.Ordinal);

    // Per session: its distinct items in first-click order, the same as a set, and the sequence number of its
    // latest click (the clicks of all sessions are numbered 1, 2, 3, … as they are added: unique, so recency
    // never ties).
    private readonly List<List<int>> _itemsOfSession = [];
    private readonly List<HashSet<int>> _holds = [];
    private readonly List<long> _lastClick = [];
    private long _clicks;

    // Request scratch, reused so that a request allocates little beyond its answer. Arrays indexed by session or
    // item grow with the model; each request leaves them as it found them (zeros, or marks of an older stamp).
    private readonly List<(int Item, double Score)> _scored = [];
    private readonly PriorityQueue<int, (double Score, int Item)> _best;
    private readonly List<int> _query = [];
    private readonly List<int> _candidates = [];
    private readonly List<int> _sampled = [];
    private readonly List<int> _touched = [];
    private readonly PriorityQueue<int, long> _sample = new();
    private readonly PriorityQueue<int, (double Similarity, long LastClick)> _neighbors =
        new(Comparer<(double Similarity, long LastClick)>.Create(static (a, b) =>
        {
            // The heap's root is the worst neighbour: the least similar, then the least recent.
            var bySimilarity = a.Similarity.CompareTo(b.Similarity);
            return bySimilarity != 0 ? bySimilarity : a.LastClick.CompareTo(b.LastClick);
        }));

    private int[] _overlap = [];
    private double[] _score = [];
    private int[] _mark = [];
    private int _stamp;

    public SessionBaselines(SessionBaselineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.ItemKnnNeighbors);
        ArgumentOutOfRangeException.ThrowIfNegative(options.ItemKnnShrinkage);
        ArgumentOutOfRangeException.ThrowIfNegative(options.SequentialSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(options.SessionKnnNeighbors);
        ArgumentOutOfRangeException.ThrowIfNegative(options.SessionKnnSampleSize);

        // A copy: the limits hold for the life of the model, whatever the caller does to its options afterwards.
        _options = new SessionBaselineOptions
        {
            ItemKnnNeighbors = options.ItemKnnNeighbors,
            ItemKnnShrinkage = options.ItemKnnShrinkage,
            SequentialSteps = options.SequentialSteps,
            SessionKnnNeighbors = options.SessionKnnNeighbors,
            SessionKnnSampleSize = options.SessionKnnSampleSize,
        };

        _byPopularity = new SortedSet<int>(Comparer<int>.Create((a, b) =>
        {
            var byCount = _sessionsOfItem[b].Count.CompareTo(_sessionsOfItem[a].Count);
            return byCount != 0 ? byCount : string.CompareOrdinal(_itemIds[a], _itemIds[b]);
        }));

        // The heap's root is the worst of the kept items: the lowest score, then the greatest id.
        _best = new PriorityQueue<int, (double Score, int Item)>(Comparer<(double Score, int Item)>.Create((a, b) =>
        {
            var byScore = a.Score.CompareTo(b.Score);
            return byScore != 0 ? byScore : string.CompareOrdinal(_itemIds[b.Item], _itemIds[a.Item]);
        }));
    }

    /// <summary>The number of distinct sessions seen.</summary>
    public int Sessions => _itemsOfSession.Count;

    /// <summary>The number of distinct items seen.</summary>
    public int Items => _itemIds.Count;

    /// <summary>
    /// Records one click: session <paramref name="sessionId"/> clicked <paramref name="itemId"/>. Clicks of
    /// different sessions may interleave; the clicks of one session must arrive in order. A click on an item the
    /// session already holds only makes the session the most recent one; a new distinct item j adds 1 to AR(i, j)
    /// and AR(j, i) for every item i the session already holds, and 1/g to SR(i, j) for its g-th most recent
    /// distinct item i, g ≤ <see cref="SessionBaselineOptions.SequentialSteps"/>.
    /// </summary>
    public void Add(string sessionId, string itemId)
    {
        var item = InternItem(itemId);
        var session = InternSession(sessionId);
        _lastClick[session] = ++_clicks;
        if (!_holds[session].Add(item))
        {
            return;
        }

        var items = _itemsOfSession[session];
        foreach (var i in items)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(_together[i], item, out _)++;
            CollectionsMarshal.GetValueRefOrAddDefault(_together[item], i, out _)++;
        }

        var steps = Math.Min(_options.SequentialSteps, items.Count);
        for (var g = 1; g <= steps; g++)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(_followedBy[items[^g]], item, out _) += 1.0 / g;
        }

        items.Add(item);

        // Out of the sorted set while its count changes (the comparer reads the count), back in after.
        _byPopularity.Remove(item);
        _sessionsOfItem[item].Add(session);
        _byPopularity.Add(item);
    }

    /// <summary>The items by the number of sessions holding them (Nⱼ), best first, ties by ordinal id.</summary>
    public List<string> Popularity(Func<string, bool> allowed, int count)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        var result = new List<string>(Math.Max(0, Math.Min(count, _itemIds.Count)));
        if (count <= 0)
        {
            return result;
        }

        foreach (var item in _byPopularity)
        {
            var id = _itemIds[item];
            if (allowed(id))
            {
                result.Add(id);
                if (result.Count == count)
                {
                    break;
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Item-kNN on the session's last item: sim(last, j) = c / √(N_last·Nⱼ) × c / (c + λ), c = AR(last, j),
    /// λ = <see cref="SessionBaselineOptions.ItemKnnShrinkage"/>. Only the
    /// <see cref="SessionBaselineOptions.ItemKnnNeighbors"/> best neighbours by sim (ties by ordinal id) are
    /// candidates, chosen before <paramref name="allowed"/> filters them: the neighbourhood is the model's, the
    /// filter is the harness's. Empty for an empty session or a last item never clicked.
    /// </summary>
    /// <param name="session">The current session's distinct items in click order (last = most recent).</param>
    /// <param name="allowed">False for the items the answer must leave out.</param>
    /// <param name="count">The most items to answer.</param>
    public List<string> ItemKnn(IReadOnlyList<string> session, Func<string, bool> allowed, int count)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        if (count <= 0 || !TryLastItem(session, out var last))
        {
            return [];
        }

        var lambda = _options.ItemKnnShrinkage;
        double lastSessions = _sessionsOfItem[last].Count;
        _scored.Clear();
        foreach (var (j, c) in _together[last])
        {
            var cosine = c / Math.Sqrt(lastSessions * _sessionsOfItem[j].Count);
            _scored.Add((j, cosine * (c / (c + lambda))));
        }

        var result = new List<string>(Math.Min(count, _scored.Count));
        foreach (var j in Best(_scored, null, _options.ItemKnnNeighbors))
        {
            var id = _itemIds[j];
            if (allowed(id))
            {
                result.Add(id);
                if (result.Count == count)
                {
                    break;
                }
            }
        }

        return result;
    }

    /// <summary>Association rules: score of j = AR(last, j), the number of sessions holding both the session's last
    /// item and j. Empty for an empty session or a last item never clicked.</summary>
    /// <param name="session">The current session's distinct items in click order (last = most recent).</param>
    /// <param name="allowed">False for the items the answer must leave out.</param>
    /// <param name="count">The most items to answer.</param>
    public List<string> AssociationRules(IReadOnlyList<string> session, Func<string, bool> allowed, int count)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        if (count <= 0 || !TryLastItem(session, out var last))
        {
            return [];
        }

        _scored.Clear();
        foreach (var (j, c) in _together[last])
        {
            _scored.Add((j, c));
        }

        return Ids(Best(_scored, allowed, count));
    }

    /// <summary>Sequential rules: score of j = SR(last, j), the sum over the sessions in which j came after the
    /// session's last item of 1/g, g the number of distinct items from the last item to j (1 = j came right after
    /// it), g ≤ <see cref="SessionBaselineOptions.SequentialSteps"/>. Empty for an empty session or a last item never
    /// clicked.</summary>
    /// <param name="session">The current session's distinct items in click order (last = most recent).</param>
    /// <param name="allowed">False for the items the answer must leave out.</param>
    /// <param name="count">The most items to answer.</param>
    public List<string> SequentialRules(IReadOnlyList<string> session, Func<string, bool> allowed, int count)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        if (count <= 0 || !TryLastItem(session, out var last))
        {
            return [];
        }

        _scored.Clear();
        foreach (var (j, weight) in _followedBy[last])
        {
            _scored.Add((j, weight));
        }

        return Ids(Best(_scored, allowed, count));
    }

    /// <summary>
    /// Session-kNN. With A the current session's distinct items (<paramref name="session"/>, the items never clicked
    /// included in |A|):
    /// <list type="number">
    /// <item><description>candidates: the sessions holding at least one item of A, except the session
    /// <paramref name="sessionId"/> itself (left out before the sample is drawn, so it takes no place in it);</description></item>
    /// <item><description>sample: of those, the <see cref="SessionBaselineOptions.SessionKnnSampleSize"/> most
    /// recent, by their latest click;</description></item>
    /// <item><description>similarity of a sampled session B: |A ∩ B| / √(|A|·|B|) over distinct items;</description></item>
    /// <item><description>neighbours: the <see cref="SessionBaselineOptions.SessionKnnNeighbors"/> most similar of
    /// the sample (ties: the more recent);</description></item>
    /// <item><description>score of item j: the sum of the similarities of the neighbours holding j.</description></item>
    /// </list>
    /// </summary>
    /// <remarks>
    /// The work is one pass over the sessions of A's items (counting |A ∩ B| as it goes), a bounded heap for the
    /// sample and one for the neighbours, and one pass over the neighbours' items. Nothing is sorted in full.
    /// </remarks>
    /// <param name="sessionId">The current session, left out of its own neighbours (unknown: none is).</param>
    /// <param name="session">The current session's distinct items in click order (last = most recent).</param>
    /// <param name="allowed">False for the items the answer must leave out.</param>
    /// <param name="count">The most items to answer.</param>
    public List<string> SessionKnn(string sessionId, IReadOnlyList<string> session, Func<string, bool> allowed, int count)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(allowed);
        if (count <= 0 || session.Count == 0)
        {
            return [];
        }

        var current = _sessionIndex.TryGetValue(sessionId, out var index) ? index : -1;
        GrowScratch();

        // A: the known distinct items; |A| counts an item never clicked too (it is in the session, in no other).
        var stamp = ++_stamp;
        _query.Clear();
        var sizeOfA = 0;
        for (var p = 0; p < session.Count; p++)
        {
            if (_itemIndex.TryGetValue(session[p], out var item))
            {
                if (_mark[item] != stamp)
                {
                    _mark[item] = stamp;
                    _query.Add(item);
                    sizeOfA++;
                }
            }
            else if (!OccursBefore(session, p))
            {
                sizeOfA++;
            }
        }

        // Candidates, and |A ∩ B| for each: B meets A once per shared item.
        _candidates.Clear();
        foreach (var item in _query)
        {
            foreach (var other in _sessionsOfItem[item])
            {
                if (other != current && _overlap[other]++ == 0)
                {
                    _candidates.Add(other);
                }
            }
        }

        var sample = _candidates;
        var sampleSize = _options.SessionKnnSampleSize;
        if (_candidates.Count > sampleSize)
        {
            // The most recent: a min-heap on the latest click keeps them, its root the oldest kept.
            _sample.Clear();
            foreach (var other in _candidates)
            {
                var at = _lastClick[other];
                if (_sample.Count < sampleSize)
                {
                    _sample.Enqueue(other, at);
                }
                else if (sampleSize > 0 && at > _sample.RootPriority())
                {
                    _sample.DequeueEnqueue(other, at);
                }
            }

            _sampled.Clear();
            foreach (var (other, _) in _sample.UnorderedItems)
            {
                _sampled.Add(other);
            }

            sample = _sampled;
        }

        var neighborCount = _options.SessionKnnNeighbors;
        _neighbors.Clear();
        if (neighborCount > 0)
        {
            foreach (var other in sample)
            {
                var key = (_overlap[other] / Math.Sqrt((double)sizeOfA * _itemsOfSession[other].Count), _lastClick[other]);
                if (_neighbors.Count < neighborCount)
                {
                    _neighbors.Enqueue(other, key);
                }
                else if (_neighbors.Comparer.Compare(key, _neighbors.RootPriority()) > 0)
                {
                    _neighbors.DequeueEnqueue(other, key);
                }
            }
        }

        foreach (var other in _candidates)
        {
            _overlap[other] = 0;
        }

        // A fresh stamp marks the items scored by this request, so the scores are read and cleared once each.
        stamp = ++_stamp;
        _touched.Clear();
        foreach (var (other, (similarity, _)) in _neighbors.UnorderedItems)
        {
            foreach (var j in _itemsOfSession[other])
            {
                if (_mark[j] != stamp)
                {
                    _mark[j] = stamp;
                    _touched.Add(j);
                }

                _score[j] += similarity;
            }
        }

        _scored.Clear();
        foreach (var j in _touched)
        {
            _scored.Add((j, _score[j]));
            _score[j] = 0;
        }

        return Ids(Best(_scored, allowed, count));
    }

    /// <summary>The cosine of the two items' session sets, |Sa ∩ Sb| / √(|Sa|·|Sb|), without shrinkage: 0 when
    /// either was never clicked, 1 for an item with itself. For <see cref="ListDiversity.IntraList"/>.</summary>
    public double Similarity(string a, string b)
    {
        if (!_itemIndex.TryGetValue(a, out var i) || !_itemIndex.TryGetValue(b, out var j))
        {
            return 0;
        }

        if (i == j)
        {
            return 1;
        }

        var both = _together[i].GetValueOrDefault(j);
        return both / Math.Sqrt((double)_sessionsOfItem[i].Count * _sessionsOfItem[j].Count);
    }

    private int InternItem(string itemId)
    {
        if (!_itemIndex.TryGetValue(itemId, out var item))
        {
            item = _itemIds.Count;
            _itemIndex[itemId] = item;
            _itemIds.Add(itemId);
            _sessionsOfItem.Add([]);
            _together.Add([]);
            _followedBy.Add([]);
        }

        return item;
    }

    private int InternSession(string sessionId)
    {
        if (!_sessionIndex.TryGetValue(sessionId, out var session))
        {
            session = _itemsOfSession.Count;
            _sessionIndex[sessionId] = session;
            _itemsOfSession.Add([]);
            _holds.Add([]);
            _lastClick.Add(0);
        }

        return session;
    }

    private bool TryLastItem(IReadOnlyList<string> session, out int last)
    {
        ArgumentNullException.ThrowIfNull(session);
        last = -1;
        return session.Count > 0 && _itemIndex.TryGetValue(session[^1], out last);
    }

    private static bool OccursBefore(IReadOnlyList<string> session, int position)
    {
        for (var p = 0; p < position; p++)
        {
            if (string.Equals(session[p], session[position], StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private void GrowScratch()
    {
        if (_overlap.Length < _itemsOfSession.Count)
        {
            Array.Resize(ref _overlap, Math.Max(_itemsOfSession.Count, 2 * _overlap.Length));
        }

        if (_score.Length < _itemIds.Count)
        {
            var length = Math.Max(_itemIds.Count, 2 * _score.Length);
            Array.Resize(ref _score, length);
            Array.Resize(ref _mark, length);
        }
    }

    /// <summary>The best <paramref name="count"/> of <paramref name="scored"/> (score, then ordinal id), best first,
    /// leaving out those <paramref name="allowed"/> rejects (none when null). A bounded min-heap: the filter is asked
    /// only about items good enough to enter it.</summary>
    private List<int> Best(List<(int Item, double Score)> scored, Func<string, bool>? allowed, int count)
    {
        if (count <= 0 || scored.Count == 0)
        {
            return [];
        }

        _best.Clear();
        foreach (var (item, score) in scored)
        {
            var key = (score, item);
            var full = _best.Count == count;
            if (full && _best.Comparer.Compare(key, _best.RootPriority()) <= 0)
            {
                continue;
            }

            if (allowed is not null && !allowed(_itemIds[item]))
            {
                continue;
            }

            if (full)
            {
                _best.DequeueEnqueue(item, key);
            }
            else
            {
                _best.Enqueue(item, key);
            }
        }

        // The heap yields the worst first.
        var result = new List<int>(_best.Count);
        while (_best.TryDequeue(out var item, out _))
        {
            result.Add(item);
        }

        result.Reverse();
        return result;
    }

    private List<string> Ids(List<int> items) => items.ConvertAll(i => _itemIds[i]);
}

/// <summary>The priority of a heap's root (the heap must not be empty).</summary>
file static class PriorityQueueExtensions
{
    public static TPriority RootPriority<TElement, TPriority>(this PriorityQueue<TElement, TPriority> queue) =>
        queue.TryPeek(out _, out var priority) ? priority : throw new InvalidOperationException("The heap is empty.");
}
