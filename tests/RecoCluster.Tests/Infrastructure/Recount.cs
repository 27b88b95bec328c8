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

    public sealed record ExpectedItem(long Count, IReadOnlyDictionary<string, long> Row);

    /// <summary>Item counts and co-occurrence rows: an event on item i, for every other item j in its user's window
    /// as it was before the event, adds 1 to C[i][j] and to C[j][i]; and it adds 1 to N[i].</summary>
    public static Dictionary<string, ExpectedItem> Items(IEnumerable<ClickEvent> events, int windowSize)
    {
        var windows = new Dictionary<string, List<string>>();
        var counts = new Dictionary<string, long>();
        var rows = new Dictionary<string, Dictionary<string, long>>();
        void Add(string a, string b)
        {
            if (!rows.TryGetValue(a, out var row))
            {
                rows[a] = row = [];
            }

            row[b] = row.GetValueOrDefault(b) + 1;
        }

        foreach (var e in events)
        {
            if (!windows.TryGetValue(e.UserId, out var window))
            {
                windows[e.UserId] = window = [];
            }

            foreach (var other in window.Where(o => o != e.ItemId))
            {
                Add(e.ItemId, other);
                Add(other, e.ItemId);
            }

            counts[e.ItemId] = counts.GetValueOrDefault(e.ItemId) + 1;
            window.Remove(e.ItemId);
            window.Insert(0, e.ItemId);
            if (window.Count > windowSize)
            {
                window.RemoveAt(window.Count - 1);
            }
        }

        return counts.ToDictionary(c => c.Key, c => new ExpectedItem(c.Value, rows.GetValueOrDefault(c.Key) ?? []));
    }
}
