namespace RecoCluster.Grains.Algorithms;

/// <summary>One scored candidate.</summary>
/// <param name="ItemId">The candidate item.</param>
/// <param name="Score">Its score; larger is better.</param>
public readonly record struct Scored(string ItemId, double Score);

/// <summary>
/// The k best of a stream of scored items: score descending, ties broken by item id in ordinal order, so the
/// result is a function of the input set alone (not of its order), which is what lets a batch recount compare
/// neighborhoods item for item.
/// </summary>
public static class TopK
{
    /// <summary>Orders two candidates best first.</summary>
    public static readonly IComparer<Scored> BestFirst = Comparer<Scored>.Create(static (a, b) =>
    {
        var byScore = b.Score.CompareTo(a.Score);
        return byScore != 0 ? byScore : string.CompareOrdinal(a.ItemId, b.ItemId);
    });

    /// <summary>The best <paramref name="k"/> of <paramref name="candidates"/>, best first. O(n log k) time, O(k)
    /// memory: a bounded heap whose root is the worst candidate kept so far.</summary>
    public static List<Scored> Select(IEnumerable<Scored> candidates, int k)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (k == 0)
        {
            return [];
        }

        // PriorityQueue dequeues the smallest element; with "worst first" priorities the root is the one to evict.
        var heap = new PriorityQueue<Scored, Scored>(k + 1, Comparer<Scored>.Create(static (a, b) => BestFirst.Compare(b, a)));
        foreach (var candidate in candidates)
        {
            if (heap.Count < k)
            {
                heap.Enqueue(candidate, candidate);
            }
            else if (BestFirst.Compare(candidate, heap.Peek()) < 0)
            {
                heap.EnqueueDequeue(candidate, candidate);
            }
        }

        var result = new List<Scored>(heap.Count);
        while (heap.Count > 0)
        {
            result.Add(heap.Dequeue());
        }

        result.Reverse();
        return result;
    }
}
