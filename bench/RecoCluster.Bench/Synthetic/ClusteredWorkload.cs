using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Bench.Synthetic;

/// <summary>
/// The benchmarks issue's synthetic population for the scale parts (memory, rebuild): item popularity is Zipf
/// (s = 1) over the whole catalog, and the items fall into planted clusters. Item i belongs to cluster i mod C, so
/// every cluster has popular items and tail items. Each user has a home cluster and draws most of their events
/// from it, by the same Zipf ranks within the cluster; the rest come from the whole catalog. The clusters are what
/// neighborhoods should find. Zipf is what makes the rows of popular items long and those of the tail short, and
/// row length drives both memory and rebuild time. Pure arithmetic on the caller's seeded <see cref="Random"/>,
/// so the same settings give the same stream.
/// </summary>
public sealed class ClusteredWorkload
{
    private readonly double[] _global;
    private readonly double[] _inCluster;

    public ClusteredWorkload(int users, int items, int clusters, double homeShare)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(users, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(clusters, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(clusters, items);
        ArgumentOutOfRangeException.ThrowIfLessThan(homeShare, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(homeShare, 1);
        Users = users;
        Items = items;
        Clusters = clusters;
        HomeShare = homeShare;
        _global = Cumulative(items);
        _inCluster = Cumulative((items + clusters - 1) / clusters);
    }

    public int Users { get; }

    public int Items { get; }

    public int Clusters { get; }

    /// <summary>The share of a user's events drawn from their home cluster.</summary>
    public double HomeShare { get; }

    /// <summary>The same ids as the query bench's workload, so the formats (and their lengths) match.</summary>
    public static string ItemId(int index) => $"sku-{index}";

    public static string UserId(int index) => $"u-{index}";

    public int ClusterOf(int item) => item % Clusters;

    public int HomeCluster(int user) => user % Clusters;

    /// <summary>The item of a user's next event: from the home cluster with probability <see cref="HomeShare"/>,
    /// else from the whole catalog.</summary>
    public int NextItem(Random random, int user) =>
        random.NextDouble() < HomeShare ? InCluster(random, HomeCluster(user)) : GlobalItem(random);

    /// <summary>An item by Zipf rank over the whole catalog (rank = index).</summary>
    public int GlobalItem(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return Draw(_global, random);
    }

    /// <summary>An item of <paramref name="cluster"/> by Zipf rank within it. Clusters at the end of the catalog
    /// may be one item short; a rank past the end is drawn again.</summary>
    public int InCluster(Random random, int cluster)
    {
        ArgumentNullException.ThrowIfNull(random);
        while (true)
        {
            var item = cluster + (Draw(_inCluster, random) * Clusters);
            if (item < Items)
            {
                return item;
            }
        }
    }

    /// <summary>The query bench's mix of event types: mostly views, few purchases.</summary>
    public static EventType NextType(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return random.Next(100) switch
        {
            < 70 => EventType.View,
            < 90 => EventType.Click,
            < 97 => EventType.AddToCart,
            _ => EventType.Purchase,
        };
    }

    private static double[] Cumulative(int n)
    {
        var cumulative = new double[n];
        var sum = 0.0;
        for (var i = 0; i < n; i++)
        {
            sum += 1.0 / (i + 1);
            cumulative[i] = sum;
        }

        return cumulative;
    }

    private static int Draw(double[] cumulative, Random random)
    {
        var index = Array.BinarySearch(cumulative, random.NextDouble() * cumulative[^1]);
        return Math.Min(index < 0 ? ~index : index, cumulative.Length - 1);
    }
}
