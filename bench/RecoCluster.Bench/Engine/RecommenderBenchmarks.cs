using BenchmarkDotNet.Attributes;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Bench.Engine;

/// <summary>
/// The silo's CPU per recommendation answer: <see cref="Recommender.ForUser"/> over a snapshot of
/// <see cref="Items"/> items (50 neighbors each, factor dimension 32), for a user with a full window (20 items) and a
/// vector. The gateway's and Orleans' share of a request is not in it; the query bench measures the whole.
/// </summary>
[MemoryDiagnoser]
public class RecommenderBenchmarks
{
    private const int Dimensions = 32;
    private const int Neighbors = 50;
    private const int Window = 20;
    private const int Users = 64;

    private readonly RecommenderOptions _options = new();
    private RecoSnapshot _snapshot = RecoSnapshot.Empty;
    private RecommendationInput[] _inputs = [];
    private int _next;

    [Params(2_000, 100_000)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(17);
        string Id(int i) => "item-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        float[] Vector()
        {
            var v = new float[Dimensions];
            for (var d = 0; d < Dimensions; d++)
            {
                v[d] = (float)(random.NextDouble() - 0.5);
            }

            return v;
        }

        var entries = new List<SnapshotItem>(Items);
        for (var i = 0; i < Items; i++)
        {
            var similar = new Scored[Neighbors];
            for (var n = 0; n < Neighbors; n++)
            {
                similar[n] = new Scored(Id(random.Next(Items)), 1.0 - (n / (double)Neighbors));
            }

            entries.Add(new SnapshotItem(Id(i), random.Next(1, 1_000), random.NextDouble(), similar, [], Vector(), []));
        }

        _snapshot = RecoSnapshot.Build(1, DateTimeOffset.UnixEpoch, entries, popularCount: 100, Dimensions);
        _inputs = new RecommendationInput[Users];
        for (var u = 0; u < Users; u++)
        {
            var recent = new RecentInteraction[Window];
            for (var w = 0; w < Window; w++)
            {
                recent[w] = new RecentInteraction(Id(random.Next(Items)), EventType.View, 1_000_000 - (w * 1_000), w % 7 == 0);
            }

            _inputs[u] = new RecommendationInput("user-" + u, recent, Vector());
        }
    }

    [Benchmark]
    public int ForUser()
    {
        var input = _inputs[_next++ % _inputs.Length];
        return Recommender.ForUser(input, _snapshot, static _ => true, _options, 10).Count;
    }
}
