using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Tests.Unit;

/// <summary>The item side of <see cref="UserModel.Apply(ClickEvent, IItemDeltaSink)"/>: weights, the time window and the daily cap, on small
/// hand-counted streams.</summary>
public sealed class CooccurrenceRuleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Counts_are_weighted_and_a_pair_counts_its_weaker_side()
    {
        var sink = Run(new UserGrainOptions(), ("a", EventType.View, 0), ("b", EventType.Purchase, 10), ("c", EventType.Click, 20));

        Assert.Equal(1, sink.N("a"));
        Assert.Equal(5, sink.N("b"));
        Assert.Equal(2, sink.N("c"));
        Assert.Equal(1, sink.C("b", "a")); // min(5, 1)
        Assert.Equal(1, sink.C("a", "b"));
        Assert.Equal(2, sink.C("c", "b")); // min(2, 5)
        Assert.Equal(1, sink.C("c", "a")); // min(2, 1)
        Assert.Equal(sink.C("a", "c"), sink.C("c", "a"));
    }

    [Fact]
    public void A_repeat_counts_against_the_window_as_it_was_and_uses_the_items_latest_type()
    {
        // a (view), b (view), then a again as a purchase: it meets b (view) with min(5, 1) = 1 and not itself.
        var sink = Run(new UserGrainOptions(), ("a", EventType.View, 0), ("b", EventType.View, 1), ("a", EventType.Purchase, 2), ("c", EventType.Purchase, 3));

        Assert.Equal(6, sink.N("a"));
        Assert.Equal(2, sink.C("a", "b")); // once from b's event, once from a's repeat
        Assert.Equal(5, sink.C("c", "a")); // a's latest type is purchase: min(5, 5)
        Assert.Equal(1, sink.C("c", "b"));
        Assert.Equal(0, sink.C("a", "a"));
    }

    [Fact]
    public void Items_touched_longer_ago_than_the_time_window_do_not_co_occur()
    {
        var options = new UserGrainOptions { WindowSeconds = 60 };
        var sink = Run(options, ("a", EventType.View, 0), ("b", EventType.View, 30), ("c", EventType.View, 91), ("d", EventType.View, 100), ("e", EventType.View, 151));

        Assert.Equal(1, sink.C("b", "a")); // 30 s apart
        Assert.Equal(0, sink.C("c", "b")); // 61 s
        Assert.Equal(0, sink.C("c", "a"));
        Assert.Equal(1, sink.C("d", "c")); // 9 s
        Assert.Equal(0, sink.C("d", "b"));
        Assert.Equal(1, sink.C("e", "c")); // exactly 60 s: the limit is inclusive
        Assert.Equal(1, sink.C("e", "d"));
        Assert.Equal(0, sink.C("e", "b"));
    }

    [Fact]
    public void An_item_follows_the_last_distinct_items_with_weights_60_over_the_step_and_only_forwards()
    {
        var options = new UserGrainOptions { SequentialSteps = 3 };
        var sink = Run(options, ("a", EventType.View, 0), ("b", EventType.Click, 1), ("c", EventType.View, 2), ("d", EventType.Purchase, 3));

        Assert.Equal(60, sink.S("a", "b"));
        Assert.Equal((60, 30), (sink.S("b", "c"), sink.S("a", "c")));
        Assert.Equal((60, 30, 20), (sink.S("c", "d"), sink.S("b", "d"), sink.S("a", "d"))); // the type does not weigh
        Assert.Equal(0, sink.S("b", "a")); // directed: b came after a, not before
        Assert.Equal(6, sink.NextPairs.Count);

        // Step 4 is beyond SequentialSteps = 3: e follows d, c and b, not a.
        var further = Run(options, ("a", EventType.View, 0), ("b", EventType.View, 1), ("c", EventType.View, 2), ("d", EventType.View, 3), ("e", EventType.View, 4));
        Assert.Equal((60, 30, 20, 0), (further.S("d", "e"), further.S("c", "e"), further.S("b", "e"), further.S("a", "e")));
    }

    [Fact]
    public void A_click_on_the_item_at_the_front_follows_nothing_and_a_return_follows_what_came_between()
    {
        // a, b, b (a refresh: no move), a (back to a: it follows b at step 1; a itself is skipped at step 2).
        var sink = Run(new UserGrainOptions(), ("a", EventType.View, 0), ("b", EventType.View, 1), ("b", EventType.View, 2), ("a", EventType.View, 3));

        Assert.Equal(60, sink.S("a", "b")); // once, not twice
        Assert.Equal(60, sink.S("b", "a"));
        Assert.Equal(0, sink.S("a", "a"));
        Assert.Equal(2, sink.NextPairs.Count);

        // Off: no sequential counts at all, co-occurrence unchanged.
        var off = Run(new UserGrainOptions { SequentialSteps = 0 }, ("a", EventType.View, 0), ("b", EventType.View, 1));
        Assert.Empty(off.NextPairs);
        Assert.Equal(1, off.C("b", "a"));
    }

    [Fact]
    public void Sequential_counts_respect_the_time_window_and_the_daily_cap()
    {
        var sink = Run(new UserGrainOptions { WindowSeconds = 60, MaxItemSideEventsPerDay = 3 }, ("a", EventType.View, 0), ("b", EventType.View, 61), ("c", EventType.View, 70), ("d", EventType.View, 80));

        Assert.Equal(0, sink.S("a", "b")); // 61 s apart
        Assert.Equal((60, 0), (sink.S("b", "c"), sink.S("a", "c")));
        Assert.Equal(0, sink.S("c", "d")); // the fourth event of the day is over the cap
    }

    [Fact]
    public void The_daily_cap_stops_the_events_item_side_but_not_the_history()
    {
        var options = new UserGrainOptions { MaxItemSideEventsPerDay = 2 };
        var ids = new ItemIdTable();
        var grain = new UserModel("u", options, ids);
        var sink = new Counter(ids);
        grain.Apply(new ClickEvent("u", "a", EventType.View, T0), sink);
        grain.Apply(new ClickEvent("u", "b", EventType.View, T0.AddMinutes(1)), sink);
        grain.Apply(new ClickEvent("u", "c", EventType.View, T0.AddMinutes(2)), sink); // third of the day: capped
        grain.Apply(new ClickEvent("u", "d", EventType.View, T0.AddDays(-1)), sink); // late: counts against the newest day, capped
        grain.Apply(new ClickEvent("u", "e", EventType.View, T0.AddDays(1)), sink); // a new day: counts again

        Assert.Equal(["a", "b", "e"], sink.Counts.Keys.Order());
        Assert.Equal(["e", "d", "c", "b", "a"], grain.GetHistory().RecentItems.Select(r => r.ItemId));
        // Capped events still enter the window, so the next counted event meets them (within the 24 h window).
        Assert.Equal(1, sink.C("e", "c"));
        Assert.Equal(1, sink.C("e", "a")); // exactly 24 h
        Assert.Equal(0, sink.C("e", "d")); // 2 days
        Assert.Equal(0, sink.C("c", "b")); // c itself was capped
    }

    [Fact]
    public void A_purchase_is_bought_together_with_the_window_items_the_user_bought_and_only_those()
    {
        // a bought, b only viewed, then c bought: c goes with a, not with b. Viewing a again keeps its purchase
        // mark (it stays in the window), so d, bought after, goes with a and c.
        var sink = Run(
            new UserGrainOptions(),
            ("a", EventType.Purchase, 0),
            ("b", EventType.View, 1),
            ("c", EventType.Purchase, 2),
            ("a", EventType.View, 3),
            ("d", EventType.Purchase, 4));

        Assert.Equal(1, sink.P("c", "a"));
        Assert.Equal(1, sink.P("a", "c"));
        Assert.Equal(0, sink.P("c", "b"));
        Assert.Equal(1, sink.P("d", "a"));
        Assert.Equal(1, sink.P("d", "c"));
        Assert.Equal(0, sink.P("d", "b"));
        Assert.Equal(2, sink.P("a", "d") + sink.P("a", "c"));
        Assert.Equal([("a", 1L), ("c", 1L), ("d", 1L)], sink.PurchaseCounts.OrderBy(p => p.Key).Select(p => (p.Key, p.Value)));
    }

    [Fact]
    public void Purchases_outside_the_time_window_or_capped_are_not_bought_together()
    {
        var options = new UserGrainOptions { WindowSeconds = 60, MaxItemSideEventsPerDay = 3 };
        var sink = Run(options, ("a", EventType.Purchase, 0), ("b", EventType.Purchase, 61), ("c", EventType.Purchase, 62), ("d", EventType.Purchase, 63));

        Assert.Equal(0, sink.P("b", "a")); // 61 s apart
        Assert.Equal(1, sink.P("c", "b"));
        Assert.Equal(0, sink.P("d", "c")); // fourth item-side event of the day: capped
        Assert.False(sink.PurchaseCounts.ContainsKey("d"));
    }

    private static Counter Run(UserGrainOptions options, params (string Item, EventType Type, int Second)[] events)
    {
        var ids = new ItemIdTable();
        var grain = new UserModel("u", options, ids);
        var sink = new Counter(ids);
        foreach (var (item, type, second) in events)
        {
            grain.Apply(new ClickEvent("u", item, type, T0.AddSeconds(second)), sink);
        }

        return sink;
    }

    private sealed class Counter(ItemIdTable ids) : IItemDeltaSink
    {
        public Dictionary<string, long> Counts { get; } = [];

        public Dictionary<(string, string), long> Pairs { get; } = [];

        public long N(string item) => Counts.GetValueOrDefault(item);

        public long C(string item, string other) => Pairs.GetValueOrDefault((item, other));

        public long P(string item, string other) => PurchasePairs.GetValueOrDefault((item, other));

        public void AddCooccurrence(int item, int other, long count) =>
            Pairs[(ids[item], ids[other])] = Pairs.GetValueOrDefault((ids[item], ids[other])) + count;

        public void AddItemCount(int item, long count) => Counts[ids[item]] = Counts.GetValueOrDefault(ids[item]) + count;

        public Dictionary<(string, string), long> PurchasePairs { get; } = [];

        public Dictionary<string, long> PurchaseCounts { get; } = [];

        public void AddPurchaseCooccurrence(int item, int other, long count) =>
            PurchasePairs[(ids[item], ids[other])] = PurchasePairs.GetValueOrDefault((ids[item], ids[other])) + count;

        public void AddPurchaseCount(int item, long count) => PurchaseCounts[ids[item]] = PurchaseCounts.GetValueOrDefault(ids[item]) + count;

        public Dictionary<(string, string), long> NextPairs { get; } = [];

        public long S(string item, string next) => NextPairs.GetValueOrDefault((item, next));

        public void AddNext(int item, int next, long weight) =>
            NextPairs[(ids[item], ids[next])] = NextPairs.GetValueOrDefault((ids[item], ids[next])) + weight;

        public void AddFactorDelta(int item, ReadOnlySpan<float> delta) => throw new InvalidOperationException("no factor table was given, so no factor step may happen");
    }
}
