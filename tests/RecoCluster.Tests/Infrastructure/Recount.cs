using RecoCluster.Grains;
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

    public sealed record ExpectedItem(long Count, IReadOnlyDictionary<string, long> Row, long PurchaseCount, IReadOnlyDictionary<string, long> PurchaseRow, IReadOnlyDictionary<string, long> NextRow);

    /// <summary>The co-occurrence rule's settings, as the test cluster configures them (see
    /// <see cref="TestRule"/>); written out here, not taken from the grains' options type.</summary>
    public sealed record Rule(int WindowSize, int WindowSeconds, int DailyCap, int View, int Click, int AddToCart, int Purchase, int SequentialSteps = 5)
    {
        public int WeightOf(EventType type) => type switch
        {
            EventType.View => View,
            EventType.Click => Click,
            EventType.AddToCart => AddToCart,
            _ => Purchase,
        };

        /// <summary>The user options a cluster running this rule has (the factor model's steps need a snapshot, so
        /// they do not change what is counted).</summary>
        public UserGrainOptions Options => new()
        {
            WindowSize = WindowSize,
            WindowSeconds = WindowSeconds,
            MaxItemSideEventsPerDay = DailyCap,
            SequentialSteps = SequentialSteps,
            Weights = new EventWeights { View = View, Click = Click, AddToCart = AddToCart, Purchase = Purchase },
        };
    }

    /// <summary>What the test clusters run with: the default weights, a one-hour time window and a cap of 30 item-side
    /// events per user per day, small enough that the generated workloads hit both.</summary>
    public static readonly Rule TestRule = new(WindowSize: 20, WindowSeconds: 3_600, DailyCap: 30, View: 1, Click: 2, AddToCart: 3, Purchase: 5);

    /// <summary>The configuration keys that give a cluster <see cref="TestRule"/>.</summary>
    public static IReadOnlyDictionary<string, string> TestRuleSettings { get; } = new Dictionary<string, string>
    {
        ["Reco:Grains:User:WindowSize"] = "20",
        ["Reco:Grains:User:WindowSeconds"] = "3600",
        ["Reco:Grains:User:MaxItemSideEventsPerDay"] = "30",
        ["Reco:Grains:User:SequentialSteps"] = "5",
    };

    /// <summary>Item counts and co-occurrence rows by the documented rule: an event e = (u, i, type, t) of user u,
    /// unless u already had DailyCap item-side events on the newest UTC day seen in u's log, adds w(e) to N[i], and
    /// for every other item j in u's window before e, last touched by u at time tⱼ ≥ t − WindowSeconds with type
    /// τⱼ, adds min(w(e), w(τⱼ)) to C[i][j] and to C[j][i]. A counted purchase also adds 1 to NP[i] and, for every
    /// such j that u bought while j stayed in u's window, 1 to P[i][j] and to P[j][i]. Unless i is already the
    /// first item of u's window, a counted event with w(e) &gt; 0 also adds ⌊60 / g⌋ to S[j][i] for the item j at
    /// each position g = 1 … SequentialSteps of that window (j ≠ i, within the time window).</summary>
    public static Dictionary<string, ExpectedItem> Items(IEnumerable<ClickEvent> events, Rule rule)
    {
        var windows = new Dictionary<string, List<(string Item, EventType Type, DateTimeOffset Seen, bool Bought)>>();
        var caps = new Dictionary<string, (long Day, int Count)>();
        var counts = new Dictionary<string, long>();
        var purchases = new Dictionary<string, long>();
        var rows = new Dictionary<string, Dictionary<string, long>>();
        var purchaseRows = new Dictionary<string, Dictionary<string, long>>();
        var nextRows = new Dictionary<string, Dictionary<string, long>>();
        static void AddTo(Dictionary<string, Dictionary<string, long>> rows, string a, string b, long w)
        {
            if (!rows.TryGetValue(a, out var row))
            {
                rows[a] = row = [];
            }

            row[b] = row.GetValueOrDefault(b) + w;
        }

        void Add(string a, string b, long w) => AddTo(rows, a, b, w);

        foreach (var e in events)
        {
            if (!windows.TryGetValue(e.UserId, out var window))
            {
                windows[e.UserId] = window = [];
            }

            var day = (long)Math.Floor(e.Timestamp.ToUnixTimeMilliseconds() / 86_400_000.0);
            var (capDay, capCount) = caps.GetValueOrDefault(e.UserId);
            if (day > capDay)
            {
                (capDay, capCount) = (day, 0);
            }

            if (capCount < rule.DailyCap)
            {
                capCount++;
                var w = rule.WeightOf(e.Type);
                foreach (var other in window.Where(o => o.Item != e.ItemId && (e.Timestamp - o.Seen).TotalSeconds <= rule.WindowSeconds))
                {
                    var pair = Math.Min(w, rule.WeightOf(other.Type));
                    Add(e.ItemId, other.Item, pair);
                    Add(other.Item, e.ItemId, pair);
                    if (e.Type == EventType.Purchase && other.Bought)
                    {
                        AddTo(purchaseRows, e.ItemId, other.Item, 1);
                        AddTo(purchaseRows, other.Item, e.ItemId, 1);
                    }
                }

                if (w > 0 && window.Count > 0 && window[0].Item != e.ItemId)
                {
                    for (var g = 1; g <= Math.Min(rule.SequentialSteps, window.Count); g++)
                    {
                        var before = window[g - 1];
                        if (before.Item != e.ItemId && (e.Timestamp - before.Seen).TotalSeconds <= rule.WindowSeconds)
                        {
                            AddTo(nextRows, before.Item, e.ItemId, 60 / g);
                        }
                    }
                }

                counts[e.ItemId] = counts.GetValueOrDefault(e.ItemId) + w;
                if (e.Type == EventType.Purchase)
                {
                    purchases[e.ItemId] = purchases.GetValueOrDefault(e.ItemId) + 1;
                }
            }

            caps[e.UserId] = (capDay, capCount);
            var boughtBefore = window.Any(o => o.Item == e.ItemId && o.Bought);
            window.RemoveAll(o => o.Item == e.ItemId);
            window.Insert(0, (e.ItemId, e.Type, e.Timestamp, boughtBefore || e.Type == EventType.Purchase));
            if (window.Count > rule.WindowSize)
            {
                window.RemoveAt(window.Count - 1);
            }
        }

        // An item whose own events were all capped can still have a row (it sat in a counted event's window).
        return counts.Keys.Union(rows.Keys).Union(nextRows.Keys).ToDictionary(i => i, i => new ExpectedItem(
            counts.GetValueOrDefault(i),
            rows.GetValueOrDefault(i) ?? [],
            purchases.GetValueOrDefault(i),
            purchaseRows.GetValueOrDefault(i) ?? [],
            nextRows.GetValueOrDefault(i) ?? []));
    }
}
