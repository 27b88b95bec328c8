using RecoCluster.Grains.Algorithms;

namespace RecoCluster.Grains.Catalog;

/// <summary>An item's catalog entry, as <c>PUT /v1/items/{itemId}</c> sets it.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Category">Its category, or null.</param>
/// <param name="Tags">Its tags (distinct, case-sensitive).</param>
/// <param name="Price">Its price, or null.</param>
/// <param name="Available">False takes the item out of every answer.</param>
/// <param name="UpdatedAt">When the entry was written.</param>
public sealed record CatalogItem(string ItemId, string? Category, IReadOnlyList<string> Tags, decimal? Price, bool Available, DateTimeOffset UpdatedAt);

/// <summary>
/// The item catalog a silo holds in memory (read from the catalog topic): availability, and content similarity
/// for items that have no co-occurrence yet. Content similarity is the Jaccard index of the items' feature sets,
/// where an item's features are its category and its tags; an inverted index finds the items that share a feature.
/// </summary>
/// <remarks>Written by one reader thread, read by request threads: one lock, held for microseconds. Catalog
/// writes are rare next to reads, and a reader never sees an entry and its index half updated.</remarks>
public sealed class ItemCatalog
{
    /// <summary>Postings read per feature: bounds the work for a feature shared by a huge part of the catalog.</summary>
    public const int MaxPostingsPerFeature = 5_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, CatalogItem> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _postings = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>Adds or replaces an entry.</summary>
    public void Upsert(CatalogItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        lock (_lock)
        {
            RemoveLocked(item.ItemId);
            _items[item.ItemId] = item;
            foreach (var f in Features(item))
            {
                if (!_postings.TryGetValue(f, out var set))
                {
                    _postings[f] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(item.ItemId);
            }
        }
    }

    /// <summary>Removes an entry (a tombstone on the topic).</summary>
    public void Remove(string itemId)
    {
        lock (_lock)
        {
            RemoveLocked(itemId);
        }
    }

    public CatalogItem? Find(string itemId)
    {
        lock (_lock)
        {
            return _items.GetValueOrDefault(itemId);
        }
    }

    /// <summary>Whether an item may be recommended: unknown items are (the catalog is optional), items marked
    /// unavailable are not.</summary>
    public bool IsAvailable(string itemId)
    {
        lock (_lock)
        {
            return !_items.TryGetValue(itemId, out var item) || item.Available;
        }
    }

    /// <summary>The available items most similar to <paramref name="itemId"/> by content, best first (ties by
    /// item id); empty when the item is not in the catalog or shares no feature with any other.</summary>
    public List<Recommendation> SimilarByContent(string itemId, int count)
    {
        lock (_lock)
        {
            if (!_items.TryGetValue(itemId, out var item))
            {
                return [];
            }

            var mine = Features(item).ToHashSet(StringComparer.Ordinal);
            var shared = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var f in mine)
            {
                foreach (var other in _postings[f].Take(MaxPostingsPerFeature))
                {
                    if (!string.Equals(other, itemId, StringComparison.Ordinal))
                    {
                        shared[other] = shared.GetValueOrDefault(other) + 1;
                    }
                }
            }

            var scored = shared
                .Where(s => _items[s.Key].Available)
                .Select(s => new Scored(s.Key, s.Value / (double)(mine.Count + Features(_items[s.Key]).Count() - s.Value)));
            return TopK.Select(scored, count).Select(s => new Recommendation(s.ItemId, s.Score, Reason(item, _items[s.ItemId]), CandidateSource.Content, itemId)).ToList();
        }
    }

    private static string Reason(CatalogItem item, CatalogItem other)
    {
        var sameCategory = item.Category is not null && string.Equals(item.Category, other.Category, StringComparison.Ordinal);
        var tags = item.Tags.Intersect(other.Tags, StringComparer.Ordinal).Take(3).ToList();
        return (sameCategory, tags.Count) switch
        {
            (true, 0) => $"same category as {item.ItemId} ({item.Category})",
            (true, _) => $"same category as {item.ItemId} ({item.Category}), also tagged {string.Join(", ", tags)}",
            _ => $"tagged {string.Join(", ", tags)} like {item.ItemId}",
        };
    }

    private void RemoveLocked(string itemId)
    {
        if (!_items.Remove(itemId, out var old))
        {
            return;
        }

        foreach (var f in Features(old))
        {
            if (_postings.TryGetValue(f, out var set) && set.Remove(itemId) && set.Count == 0)
            {
                _postings.Remove(f);
            }
        }
    }

    private static IEnumerable<string> Features(CatalogItem item)
    {
        if (!string.IsNullOrEmpty(item.Category))
        {
            yield return "c:" + item.Category;
        }

        foreach (var tag in item.Tags.Distinct(StringComparer.Ordinal))
        {
            yield return "t:" + tag;
        }
    }
}
