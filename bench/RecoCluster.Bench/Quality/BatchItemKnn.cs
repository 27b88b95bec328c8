namespace RecoCluster.Bench.Quality;

/// <summary>
/// The baseline: a textbook batch item-kNN, written here on purpose without any of the engine's code so that it
/// is a genuine second opinion. Each rebuild starts from scratch from the whole purchase history so far: an item
/// is the set of users who bought it, two items are as similar as the cosine of their user sets
/// (|Uᵢ ∩ Uⱼ| / √(|Uᵢ|·|Uⱼ|)), and each item keeps its top neighbors. A user's candidates score the sum of their
/// similarities to the items of the user's recent window (the last distinct items, latest first).
/// </summary>
/// <remarks>
/// Items and users are dense integers, so a rebuild is one pass over the user–item pairs with an integer
/// accumulator per item: Σᵤ |Iᵤ|² additions (48 M over the whole data set), parallel over items.
/// </remarks>
public sealed class BatchItemKnn
{
    private readonly int _windowSize;
    private readonly int _neighborCount;
    private readonly Dictionary<string, int> _itemIndex = new(StringComparer.Ordinal);
    private readonly List<string> _itemIds = [];
    private readonly List<List<int>> _usersOfItem = [];
    private readonly Dictionary<string, UserHistory> _users = new(StringComparer.Ordinal);
    private readonly List<HashSet<int>> _itemsOfUser = [];
    private (int Item, double Score)[][] _neighbors = [];

    public BatchItemKnn(int windowSize, int neighborCount)
    {
        _windowSize = windowSize;
        _neighborCount = neighborCount;
    }

    public int Rebuilds { get; private set; }

    /// <summary>Records a purchase: the history the next rebuild reads, and the user's recent window.</summary>
    public void Add(string userId, string itemId)
    {
        if (!_itemIndex.TryGetValue(itemId, out var item))
        {
            item = _itemIds.Count;
            _itemIndex[itemId] = item;
            _itemIds.Add(itemId);
            _usersOfItem.Add([]);
        }

        if (!_users.TryGetValue(userId, out var user))
        {
            user = new UserHistory(_itemsOfUser.Count);
            _users[userId] = user;
            _itemsOfUser.Add([]);
        }

        if (_itemsOfUser[user.Index].Add(item))
        {
            _usersOfItem[item].Add(user.Index);
        }

        // Most recent first, distinct, at most the window size.
        user.Recent.Remove(item);
        user.Recent.Insert(0, item);
        if (user.Recent.Count > _windowSize)
        {
            user.Recent.RemoveAt(user.Recent.Count - 1);
        }
    }

    /// <summary>The user's recent window as item ids, latest first (empty for an unknown user).</summary>
    public IReadOnlyList<string> Window(string userId) =>
        _users.TryGetValue(userId, out var user) ? user.Recent.ConvertAll(i => _itemIds[i]) : [];

    /// <summary>Recomputes every item's neighbors from the history recorded so far.</summary>
    public void Rebuild()
    {
        var itemCount = _itemIds.Count;
        var neighbors = new (int Item, double Score)[itemCount][];
        Parallel.For(
            0,
            itemCount,
            () => (Overlap: new int[itemCount], Touched: new List<int>()),
            (i, _, scratch) =>
            {
                neighbors[i] = NeighborsOf(i, scratch.Overlap, scratch.Touched);
                return scratch;
            },
            static _ => { });
        _neighbors = neighbors;
        Rebuilds++;
    }

    /// <summary>The best <paramref name="count"/> items for the user by summed similarity to the window's items,
    /// among those <paramref name="allowed"/> lets through (the harness applies the same filter to every method).
    /// Fewer when the window's neighbors run out (no popularity fill: this is the pure baseline).</summary>
    public List<string> Recommend(string userId, Func<string, bool> allowed, int count)
    {
        if (!_users.TryGetValue(userId, out var user))
        {
            return [];
        }

        var scores = new Dictionary<int, double>();
        foreach (var w in user.Recent)
        {
            // An item bought after the last rebuild has no neighbors yet.
            if (w >= _neighbors.Length)
            {
                continue;
            }

            foreach (var (j, s) in _neighbors[w])
            {
                if (allowed(_itemIds[j]))
                {
                    scores[j] = scores.GetValueOrDefault(j) + s;
                }
            }
        }

        return scores
            .OrderByDescending(e => e.Value)
            .ThenBy(e => _itemIds[e.Key], StringComparer.Ordinal)
            .Take(count)
            .Select(e => _itemIds[e.Key])
            .ToList();
    }

    private (int Item, double Score)[] NeighborsOf(int i, int[] overlap, List<int> touched)
    {
        var usersOfI = _usersOfItem[i];
        foreach (var u in usersOfI)
        {
            foreach (var j in _itemsOfUser[u])
            {
                if (j != i && overlap[j]++ == 0)
                {
                    touched.Add(j);
                }
            }
        }

        var scored = new List<(int Item, double Score)>(touched.Count);
        foreach (var j in touched)
        {
            scored.Add((j, overlap[j] / Math.Sqrt((double)usersOfI.Count * _usersOfItem[j].Count)));
            overlap[j] = 0;
        }

        touched.Clear();
        scored.Sort((a, b) =>
        {
            var byScore = b.Score.CompareTo(a.Score);
            return byScore != 0 ? byScore : string.CompareOrdinal(_itemIds[a.Item], _itemIds[b.Item]);
        });
        return scored.Count > _neighborCount ? scored.GetRange(0, _neighborCount).ToArray() : scored.ToArray();
    }

    private sealed class UserHistory(int index)
    {
        public int Index { get; } = index;

        public List<int> Recent { get; } = [];
    }
}
