using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

public class UserModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);
    private static readonly ItemIdTable Ids = new();
    private static readonly DeltaCombiner Sink = new(Ids);

    private static ClickEvent E(string item, EventType type = EventType.View, int second = 0) =>
        new("u", item, type, T0.AddSeconds(second));

    [Fact]
    public void Window_keeps_distinct_items_most_recent_first_and_counts_interactions()
    {
        var grain = new UserModel("u", new UserGrainOptions { WindowSize = 3 }, Ids);
        grain.Apply(E("a", second: 1), Sink);
        grain.Apply(E("b", EventType.Click, 2), Sink);
        grain.Apply(E("a", EventType.Purchase, 3), Sink);

        var history = grain.GetHistory();
        Assert.Equal(["a", "b"], history.RecentItems.Select(r => r.ItemId));
        Assert.Equal(2, history.RecentItems[0].Interactions);
        Assert.Equal(EventType.Purchase, history.RecentItems[0].LastType);
        Assert.Equal(T0.AddSeconds(3), history.RecentItems[0].LastSeen);
        Assert.Equal(3, history.TotalEvents);
        Assert.Equal(1, history.EventCounts["view"]);
        Assert.Equal(1, history.EventCounts["click"]);
        Assert.Equal(1, history.EventCounts["purchase"]);
        Assert.Equal(0, history.EventCounts["add_to_cart"]);
    }

    [Fact]
    public void A_window_entry_keeps_every_type_mark_and_accepted_time_to_the_millisecond()
    {
        // The entry packs the type in two bits: every event type must fit.
        Assert.True(Enum.GetValues<EventType>().All(t => (int)t is >= 0 and <= 3), "an EventType beyond 3 no longer fits a window entry");
        DateTimeOffset[] times = [EventSchema.MinTimestamp, EventSchema.MaxTimestamp.AddMilliseconds(-1), DateTimeOffset.UnixEpoch.AddMilliseconds(1), T0.AddMilliseconds(123)];
        var grain = new UserModel("u", new UserGrainOptions { WindowSize = 10, MaxItemSideEventsPerDay = 0 }, Ids);
        var i = 0;
        foreach (var type in Enum.GetValues<EventType>())
        {
            foreach (var time in times)
            {
                grain.Apply(new ClickEvent("u", $"w{i++}", type, time), Sink);
            }
        }

        var expected = Enum.GetValues<EventType>().SelectMany(type => times.Select(time => (type, time))).Reverse().Take(10).ToList();
        var recent = grain.GetHistory().RecentItems;
        Assert.Equal(expected.Select(e => e.type), recent.Select(r => r.LastType));
        Assert.Equal(expected.Select(e => e.time), recent.Select(r => r.LastSeen));
        var stored = grain.ToState().Recent;
        Assert.Equal(expected.Select(e => e.type == EventType.Purchase), stored.Select(r => r.Purchased));
        Assert.Equal(expected.Select(e => e.time.ToUnixTimeMilliseconds()), stored.Select(r => r.LastSeenMs));
    }

    [Fact]
    public void An_items_interaction_count_stops_at_its_ceiling_instead_of_wrapping()
    {
        var state = new UserGrainState { Recent = [new RecentItemState { ItemId = "a", LastType = EventType.Click, LastSeenMs = T0.ToUnixTimeMilliseconds(), Interactions = 131_070 }] };
        var grain = new UserModel("u", new UserGrainOptions(), Ids, state);
        grain.Apply(E("a", second: 1), Sink);
        grain.Apply(E("a", second: 2), Sink);
        var entry = grain.GetHistory().RecentItems.Single();
        Assert.Equal((131_071, EventType.View), (entry.Interactions, entry.LastType));
    }

    [Fact]
    public void The_least_recent_item_leaves_a_full_window()
    {
        var grain = new UserModel("u", new UserGrainOptions { WindowSize = 3 }, Ids);
        foreach (var item in new[] { "a", "b", "c", "a", "d" })
        {
            grain.Apply(E(item), Sink);
        }

        // Order of last touch: d, a, c, b — b falls out.
        Assert.Equal(["d", "a", "c"], grain.GetHistory().RecentItems.Select(r => r.ItemId));
        Assert.Equal(5, grain.GetHistory().TotalEvents);
    }

    [Fact]
    public void Log_order_not_timestamp_order_decides_recency()
    {
        var grain = new UserModel("u", new UserGrainOptions(), Ids);
        grain.Apply(E("late", second: 100), Sink);
        grain.Apply(E("early", second: 1), Sink);

        var history = grain.GetHistory();
        Assert.Equal(["early", "late"], history.RecentItems.Select(r => r.ItemId));
        Assert.Equal(T0.AddSeconds(100), history.LastEventAt);
    }

    [Fact]
    public void State_survives_an_encode_decode_round_trip_and_continues_identically()
    {
        var options = new UserGrainOptions { WindowSize = 4 };
        var events = Enumerable.Range(0, 50).Select(i => E($"i{i * 7 % 9}", (EventType)(i % 4), i)).ToList();
        var straight = new UserModel("u", options, Ids);
        var resumed = new UserModel("u", options, Ids);
        foreach (var e in events.Take(20))
        {
            straight.Apply(e, Sink);
            resumed.Apply(e, Sink);
        }

        var restored = new UserModel("u", options, new ItemIdTable(), UserGrainStateCodec.Decode(UserGrainStateCodec.Encode(resumed.ToState())));
        foreach (var e in events.Skip(20))
        {
            straight.Apply(e, Sink);
            restored.Apply(e, Sink);
        }

        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(straight.GetHistory()),
            System.Text.Json.JsonSerializer.Serialize(restored.GetHistory()));
        Assert.Equal(50, restored.GetHistory().TotalEvents);
    }

    [Fact]
    public void An_empty_grain_has_no_last_event()
    {
        var history = new UserModel("u", new UserGrainOptions(), Ids).GetHistory();
        Assert.Empty(history.RecentItems);
        Assert.Null(history.LastEventAt);
        Assert.Equal(0, history.TotalEvents);
    }

    [Fact]
    public void The_item_side_pairs_the_new_item_with_the_window_before_it_in_both_directions()
    {
        var grain = new UserModel("u", new UserGrainOptions { WindowSize = 2 }, Ids);
        var sink = new DeltaCombiner(Ids);
        foreach (var item in new[] { "a", "b", "a", "c" })
        {
            grain.Apply(E(item), sink);
        }

        // a: window {} -> nothing; b: window {a} -> ab, ba; a: window {b, a} -> ab, ba (a itself excluded);
        // c: window {a, b} -> ca, ac, cb, bc.
        var deltas = sink.Drain().ToDictionary(d => d.ItemId);
        Assert.Equal(2, deltas["a"].Count);
        Assert.Equal(1, deltas["b"].Count);
        Assert.Equal(1, deltas["c"].Count);
        Assert.Equal(new Dictionary<string, long> { ["b"] = 2, ["c"] = 1 }, deltas["a"].Row());
        Assert.Equal(new Dictionary<string, long> { ["a"] = 2, ["c"] = 1 }, deltas["b"].Row());
        Assert.Equal(new Dictionary<string, long> { ["a"] = 1, ["b"] = 1 }, deltas["c"].Row());
        Assert.True(sink.IsEmpty);
    }
}
