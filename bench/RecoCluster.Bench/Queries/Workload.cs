using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Bench.Queries;

/// <summary>
/// The users and items the query bench's events and requests are about. Item popularity is Zipf (s = 1), as in
/// a store where a few products get most of the traffic; users are uniform. Events and queries draw from the same
/// population, so every queried user exists and popular items are the ones with co-occurrence rows.
/// </summary>
public sealed class Workload
{
    private readonly double[] _cumulative;
    private readonly double _sum;

    public Workload(int users, int items)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(users, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        Users = users;
        Items = items;
        _cumulative = new double[items];
        for (var i = 0; i < items; i++)
        {
            _sum += 1.0 / (i + 1);
            _cumulative[i] = _sum;
        }
    }

    public int Users { get; }

    public int Items { get; }

    public static string UserId(int index) => $"u-{index}";

    public static string ItemId(int index) => $"sku-{index}";

    public int UniformUser(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return random.Next(Users);
    }

    public int ZipfItem(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var index = Array.BinarySearch(_cumulative, random.NextDouble() * _sum);
        return Math.Min(index < 0 ? ~index : index, Items - 1);
    }

    /// <summary>The <paramref name="sequence"/>-th event of a stream. The first <see cref="Users"/> events give
    /// every user one event, so that every user a query names exists; then users are uniform.</summary>
    public ClickEvent Event(Random random, long sequence, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(random);
        var user = sequence < Users ? (int)sequence : UniformUser(random);
        var roll = random.Next(100);
        var type = roll switch
        {
            < 70 => EventType.View,
            < 90 => EventType.Click,
            < 97 => EventType.AddToCart,
            _ => EventType.Purchase,
        };
        return new ClickEvent(UserId(user), ItemId(ZipfItem(random)), type, timestamp);
    }
}
