using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Bench.Ingest;

/// <summary>
/// The stream the ingest benches produce and the engine's micro-benchmarks replay: users drawn uniformly, items with
/// Zipf-like popularity (the square of a uniform draw, so low numbers are popular), the four event types uniformly,
/// one event every 50 ms.
/// </summary>
internal static class IngestWorkload
{
    /// <summary>Users unless a bench says otherwise (the scale bench's <c>--users</c>).</summary>
    public const int DefaultUsers = 20_000;

    /// <summary>Items unless a bench says otherwise (the scale bench's <c>--items</c>).</summary>
    public const int DefaultItems = 5_000;

    /// <summary>The item sides of the stream's first <paramref name="batches"/> batches of <paramref name="batchEvents"/>
    /// events each (seed 20261207), as an ingress drains them: each user's events applied to its model with the
    /// default settings, into one combiner numbering items by <paramref name="ids"/>.</summary>
    public static List<List<ItemDelta>> ItemSides(ItemIdTable ids, int batchEvents, int batches)
    {
        var options = new UserGrainOptions();
        var combiner = new DeltaCombiner(ids);
        var users = new Dictionary<string, UserModel>(StringComparer.Ordinal);
        var random = new Random(20261207);
        var start = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        var sides = new List<List<ItemDelta>>(batches);
        for (var i = 0; i < batches * batchEvents; i++)
        {
            var evt = Event(random, start, i);
            if (!users.TryGetValue(evt.UserId, out var user))
            {
                users[evt.UserId] = user = new UserModel(evt.UserId, options, ids);
            }

            user.Apply(evt, combiner);
            if ((i + 1) % batchEvents == 0)
            {
                sides.Add(combiner.Drain());
            }
        }

        return sides;
    }

    /// <summary>Event number <paramref name="index"/> of the stream that <paramref name="random"/> draws.</summary>
    public static ClickEvent Event(Random random, DateTimeOffset start, int index, int users = DefaultUsers, int items = DefaultItems) =>
        new($"u-{random.Next(users)}", $"sku-{(int)(Math.Pow(random.NextDouble(), 2) * items)}", (EventType)random.Next(4), start.AddMilliseconds(index * 50L));
}
