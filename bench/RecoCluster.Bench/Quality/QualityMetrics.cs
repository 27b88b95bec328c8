namespace RecoCluster.Bench.Quality;

/// <summary>One method's figures over the requests of one table, as the results file and the printed table give
/// them.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="HitRate">Fraction of baskets with at least one target item in the list (HR@K).</param>
/// <param name="ItemRecall">Target items found over all target items (item-level recall@K, micro-averaged).</param>
/// <param name="BasketRecall">Mean over baskets of the fraction of the basket's target items found (macro).</param>
/// <param name="Mrr">Mean reciprocal rank of the first hit, 0 for a basket with none (MRR@K).</param>
/// <param name="Coverage">Distinct items recommended over all requests, over the items seen before the cut-off.</param>
/// <param name="Novelty">Mean self-information −log₂(share of all purchase lines so far) of the recommended items,
/// in bits: higher means less popular items.</param>
/// <param name="MeanListLength">Mean number of items returned (at most K): a method can run out of candidates.</param>
public sealed record MethodFigures(string Method, double HitRate, double ItemRecall, double BasketRecall, double Mrr, double Coverage, double Novelty, double MeanListLength);

/// <summary>Accumulates one method's answers against the baskets of one table.</summary>
public sealed class MethodScore(string method)
{
    private readonly HashSet<string> _recommended = new(StringComparer.Ordinal);
    private long _requests;
    private long _hitBaskets;
    private long _targetItems;
    private long _hitItems;
    private double _basketRecall;
    private double _reciprocalRanks;
    private long _slots;
    private double _selfInformation;

    public string Method { get; } = method;

    /// <summary>Scores one answer against one basket's target items.</summary>
    /// <param name="recommended">The answer, best first.</param>
    /// <param name="target">The basket's distinct items that count as hits (non-empty).</param>
    /// <param name="selfInformation">−log₂ of an item's share of purchases so far.</param>
    public void Add(IReadOnlyList<string> recommended, IReadOnlySet<string> target, Func<string, double> selfInformation)
    {
        _requests++;
        _targetItems += target.Count;
        var hits = 0;
        var firstHit = 0;
        for (var rank = 1; rank <= recommended.Count; rank++)
        {
            var item = recommended[rank - 1];
            _recommended.Add(item);
            _slots++;
            _selfInformation += selfInformation(item);
            if (target.Contains(item))
            {
                hits++;
                if (firstHit == 0)
                {
                    firstHit = rank;
                }
            }
        }

        _hitItems += hits;
        _basketRecall += hits / (double)target.Count;
        if (firstHit > 0)
        {
            _hitBaskets++;
            _reciprocalRanks += 1.0 / firstHit;
        }
    }

    public MethodFigures Figures(int itemsInTraining)
    {
        double Per(double x, long n) => n == 0 ? 0 : x / n;
        return new MethodFigures(
            Method,
            Per(_hitBaskets, _requests),
            Per(_hitItems, _targetItems),
            Per(_basketRecall, _requests),
            Per(_reciprocalRanks, _requests),
            itemsInTraining == 0 ? 0 : _recommended.Count / (double)itemsInTraining,
            Per(_selfInformation, _slots),
            Per(_slots, _requests));
    }
}

/// <summary>One table: the baskets of one segment (warm or cold customers) under one filtering (new items only,
/// or all items), scored for every method.</summary>
public sealed class QualityTable
{
    private readonly Dictionary<string, MethodScore> _methods = new(StringComparer.Ordinal);

    public QualityTable(string segment, string filter, IEnumerable<string> methods)
    {
        Segment = segment;
        Filter = filter;
        foreach (var m in methods)
        {
            _methods[m] = new MethodScore(m);
        }
    }

    public string Segment { get; }

    public string Filter { get; }

    public long Baskets { get; private set; }

    public long TargetItems { get; private set; }

    /// <summary>Baskets left out of this table because no item was left to predict (every item of the basket was
    /// already in the user's window: a pure repeat, which a "new items only" list cannot hit by design).</summary>
    public long EmptyTargets { get; private set; }

    public void CountBasket(int targetItems)
    {
        Baskets++;
        TargetItems += targetItems;
    }

    public void CountEmptyTarget() => EmptyTargets++;

    public MethodScore this[string method] => _methods[method];

    public IEnumerable<MethodFigures> Figures(int itemsInTraining) => _methods.Values.Select(m => m.Figures(itemsInTraining));
}
