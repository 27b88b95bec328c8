using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>
/// A separate, deliberately simple implementation of the documented user-window rule (docs/algorithms.md), used
/// to check what the cluster serves. It shares no code with the grains.
/// </summary>
public static class Recount
{
    public sealed record Expected(IReadOnlyList<string> Window, long Total, IReadOnlyDictionary<string, long> Counts);

    /// <summary>Events must be given in the order their partition holds them (per user: the order produced).</summary>
    public static Dictionary<string, Expected> Users(IEnumerable<ClickEvent> events, int windowSize)
    {
        var result = new Dictionary<string, Expected>();
        foreach (var group in events.GroupBy(e => e.UserId))
        {
            var list = group.ToList();
            // The window: distinct items ordered by their last occurrence, latest first, truncated. An item that
            // left the window and came back counts as new, which this formulation covers as well, because only
            // the last occurrence decides the position.
            var window = list
                .Select((e, i) => (e.ItemId, i))
                .GroupBy(x => x.ItemId)
                .Select(g => (Item: g.Key, Last: g.Max(x => x.i)))
                .OrderByDescending(x => x.Last)
                .Take(windowSize)
                .Select(x => x.Item)
                .ToList();
            var counts = EventTypes.WireNames.ToDictionary(n => n, n => (long)list.Count(e => e.Type.ToWireName() == n));
            result[group.Key] = new Expected(window, list.Count, counts);
        }

        return result;
    }
}
