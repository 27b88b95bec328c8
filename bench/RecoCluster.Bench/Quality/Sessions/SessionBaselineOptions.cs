namespace RecoCluster.Bench.Quality.Sessions;

/// <summary>
/// The knobs of the session baselines (<see cref="SessionBaselines"/>). The defaults are the usual ones of the
/// session-based literature, so that the baselines are the textbook methods rather than tuned competitors.
/// </summary>
public sealed class SessionBaselineOptions
{
    /// <summary>Item-kNN: how many neighbours of the session's last item are kept (by similarity, best first)
    /// before the candidates are filtered; only these can be recommended.</summary>
    public int ItemKnnNeighbors { get; set; } = 100;

    /// <summary>Item-kNN: λ of the shrinkage factor c / (c + λ), c the number of sessions holding both items. It
    /// keeps a pair seen together once from outranking a pair seen together often.</summary>
    public double ItemKnnShrinkage { get; set; } = 20;

    /// <summary>Sequential rules: an item j counts as following i when i is among the last this many distinct
    /// items of the session before j (1 = only the item just before).</summary>
    public int SequentialSteps { get; set; } = 10;

    /// <summary>Session-kNN: how many neighbour sessions (the most similar of the sample) vote.</summary>
    public int SessionKnnNeighbors { get; set; } = 100;

    /// <summary>Session-kNN: how many of the most recent sessions sharing an item with the current session are
    /// considered as neighbours. Bounds the work of a request, and favours recent behaviour.</summary>
    public int SessionKnnSampleSize { get; set; } = 500;
}
