namespace RecoCluster.Bench.Quality.Sessions;

/// <summary>One method's figures over the requests of one table of the session protocol.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="HitRate">Fraction of requests whose next item is in the list (HR@K).</param>
/// <param name="Mrr">Mean reciprocal rank of the next item, 0 when it is not in the list (MRR@K).</param>
/// <param name="Coverage">Distinct items recommended over all requests, over the items clicked before the
/// validation period.</param>
/// <param name="Novelty">Mean self-information −log₂(share of all clicks so far) of the recommended items, in bits.</param>
/// <param name="Diversity">Intra-list diversity: mean over lists of two items or more of one minus the mean
/// pairwise similarity of the list's items (<see cref="ListDiversity"/>; similarity: the cosine of the two items'
/// session sets at the time of the request).</param>
/// <param name="MeanListLength">Mean number of items returned (at most K).</param>
public sealed record NextItemFigures(string Method, double HitRate, double Mrr, double Coverage, double Novelty, double Diversity, double MeanListLength);

/// <summary>Accumulates one method's answers against the next items of one table.</summary>
public sealed class NextItemScore(string method)
{
    private readonly HashSet<string> _recommended = new(StringComparer.Ordinal);
    private long _requests;
    private long _hits;
    private double _reciprocalRanks;
    private long _slots;
    private double _selfInformation;
    private long _lists;
    private double _diversity;

    public string Method { get; } = method;

    public long Requests => _requests;

    /// <summary>Scores one answer against the item that came next.</summary>
    /// <param name="recommended">The answer, best first.</param>
    /// <param name="next">The item the session clicked next.</param>
    /// <param name="selfInformation">−log₂ of an item's share of the clicks so far.</param>
    /// <param name="similarity">Item-to-item similarity for the list's diversity.</param>
    public void Add(IReadOnlyList<string> recommended, string next, Func<string, double> selfInformation, Func<string, string, double> similarity)
    {
        ArgumentNullException.ThrowIfNull(recommended);
        ArgumentNullException.ThrowIfNull(selfInformation);
        _requests++;
        for (var rank = 1; rank <= recommended.Count; rank++)
        {
            var item = recommended[rank - 1];
            _recommended.Add(item);
            _slots++;
            _selfInformation += selfInformation(item);
            if (string.Equals(item, next, StringComparison.Ordinal))
            {
                _hits++;
                _reciprocalRanks += 1.0 / rank;
            }
        }

        if (ListDiversity.IntraList(recommended, similarity) is { } diversity)
        {
            _lists++;
            _diversity += diversity;
        }
    }

    public NextItemFigures Figures(int itemsInTraining)
    {
        static double Per(double x, long n) => n == 0 ? 0 : x / n;
        return new NextItemFigures(
            Method,
            Per(_hits, _requests),
            Per(_reciprocalRanks, _requests),
            itemsInTraining == 0 ? 0 : _recommended.Count / (double)itemsInTraining,
            Per(_selfInformation, _slots),
            Per(_diversity, _lists),
            Per(_slots, _requests));
    }
}
