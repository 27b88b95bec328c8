using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Tests.Unit;

public class UserGrainTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

    private static ClickEvent E(string item, EventType type = EventType.View, int second = 0) =>
        new("u", item, type, T0.AddSeconds(second));

    [Fact]
    public void Window_keeps_distinct_items_most_recent_first_and_counts_interactions()
    {
        var grain = new UserGrain("u", new UserGrainOptions { WindowSize = 3 });
        grain.Apply(E("a", second: 1));
        grain.Apply(E("b", EventType.Click, 2));
        grain.Apply(E("a", EventType.Purchase, 3));

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
    public void The_least_recent_item_leaves_a_full_window()
    {
        var grain = new UserGrain("u", new UserGrainOptions { WindowSize = 3 });
        foreach (var item in new[] { "a", "b", "c", "a", "d" })
        {
            grain.Apply(E(item));
        }

        // Order of last touch: d, a, c, b — b falls out.
        Assert.Equal(["d", "a", "c"], grain.GetHistory().RecentItems.Select(r => r.ItemId));
        Assert.Equal(5, grain.GetHistory().TotalEvents);
    }

    [Fact]
    public void Log_order_not_timestamp_order_decides_recency()
    {
        var grain = new UserGrain("u", new UserGrainOptions());
        grain.Apply(E("late", second: 100));
        grain.Apply(E("early", second: 1));

        var history = grain.GetHistory();
        Assert.Equal(["early", "late"], history.RecentItems.Select(r => r.ItemId));
        Assert.Equal(T0.AddSeconds(100), history.LastEventAt);
    }

    [Fact]
    public void State_survives_an_encode_decode_round_trip_and_continues_identically()
    {
        var options = new UserGrainOptions { WindowSize = 4 };
        var events = Enumerable.Range(0, 50).Select(i => E($"i{i * 7 % 9}", (EventType)(i % 4), i)).ToList();
        var straight = new UserGrain("u", options);
        var resumed = new UserGrain("u", options);
        foreach (var e in events.Take(20))
        {
            straight.Apply(e);
            resumed.Apply(e);
        }

        var restored = new UserGrain("u", options, UserGrainStateCodec.Decode(UserGrainStateCodec.Encode(resumed.State)));
        foreach (var e in events.Skip(20))
        {
            straight.Apply(e);
            restored.Apply(e);
        }

        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(straight.GetHistory()),
            System.Text.Json.JsonSerializer.Serialize(restored.GetHistory()));
        Assert.Equal(50, restored.GetHistory().TotalEvents);
    }

    [Fact]
    public void An_empty_grain_has_no_last_event()
    {
        var history = new UserGrain("u", new UserGrainOptions()).GetHistory();
        Assert.Empty(history.RecentItems);
        Assert.Null(history.LastEventAt);
        Assert.Equal(0, history.TotalEvents);
    }
}
