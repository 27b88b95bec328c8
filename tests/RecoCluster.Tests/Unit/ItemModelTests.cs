using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Grains.Orleans;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

public class ItemModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Deltas_add_up_and_the_row_is_served_largest_first_ties_by_item_id()
    {
        var grain = new ItemModel("x", new ItemIdTable());
        grain.Apply(Deltas.Of("x", 2, new() { ["b"] = 1, ["a"] = 3 }));
        grain.Apply(Deltas.Of("x", 1, new() { ["b"] = 2, ["c"] = 1, ["d"] = 3 }));

        var row = grain.GetCooccurrence(10);
        Assert.Equal(3, row.Count);
        Assert.Equal(4, row.RowLength);
        Assert.Equal([new Neighbor("a", 3), new Neighbor("b", 3), new Neighbor("d", 3), new Neighbor("c", 1)], row.Neighbors);
        Assert.Equal([new Neighbor("a", 3), new Neighbor("b", 3)], grain.GetCooccurrence(2).Neighbors);
        Assert.Equal(3, grain.CountWith("b"));
        Assert.Equal(0, grain.CountWith("nope"));
    }

    [Fact]
    public void State_round_trips_through_the_stored_form_and_the_storage_serializer()
    {
        var grain = new ItemModel("x", new ItemIdTable());
        grain.Apply(Deltas.Of("x", 5, new() { ["é"] = 7, ["b"] = 1 }, purchaseCount: 2, purchaseRow: new() { ["b"] = 1 }, factorDelta: [0.25f, 0.5f]));
        var serializer = Integration.GroupCommitGrainStorageTests.StateSerializer;
        var stored = serializer.Decode<PersistedItem>(serializer.Encode(new PersistedItem { Model = grain.ToState(), Watermarks = { [3] = 9 } }), "item");

        // Read back by another silo, whose table numbers the items in another order.
        var other = new ItemIdTable();
        other.Intern("zzz");
        var restored = new ItemModel("x", other, stored.Model);
        Assert.Equal(9, stored.Watermarks[3]);
        Assert.Equal(Describe(grain.GetCooccurrence(10)), Describe(restored.GetCooccurrence(10)));
        Assert.Equal(grain.ToState().Factors, restored.ToState().Factors);
        restored.Apply(Deltas.Of("x", 1, new() { ["b"] = 1, ["new"] = 4 }));
        Assert.Equal(["é=7", "new=4", "b=2"], restored.GetCooccurrence(10).Neighbors.Select(n => $"{n.ItemId}={n.Count}"));
    }

    [Fact]
    public void A_count_row_merges_any_changes_into_the_sums_a_dictionary_gives()
    {
        var random = new Random(7);
        var row = new CountRow();
        var expected = new Dictionary<int, long>();
        for (var round = 0; round < 200; round++)
        {
            var n = random.Next(0, 40);
            var keys = new int[n];
            var counts = new long[n];
            for (var i = 0; i < n; i++)
            {
                keys[i] = random.Next(0, round < 100 ? 60 : 5_000); // repeats within a delta, and rows that grow
                counts[i] = random.Next(1, 6);
                expected[keys[i]] = expected.GetValueOrDefault(keys[i]) + counts[i];
            }

            row.Add(keys, counts);
            Assert.Equal(expected.Count, row.Length);
        }

        Assert.Equal(expected.Keys.Order(), row.Keys.ToArray());
        Assert.All(expected, e => Assert.Equal(e.Value, row[e.Key]));
        Assert.Equal(0, row[-5]);
    }

    [Fact]
    public void The_combiner_sums_user_item_sides_per_item_and_hands_each_item_its_delta()
    {
        var ids = new ItemIdTable();
        var options = new UserGrainOptions();
        var direct = new DeltaCombiner(ids);
        var throughSides = new DeltaCombiner(ids);
        var builder = new ItemSideBuilder(ids);
        foreach (var user in new[] { "u1", "u2", "u3" })
        {
            var a = new UserModel(user, options, ids);
            var b = new UserModel(user, options, ids);
            var items = user == "u2" ? new[] { "p", "q", "p", "r" } : ["p", "q", "s"];
            for (var i = 0; i < items.Length; i++)
            {
                var evt = new ClickEvent(user, items[i], (EventType)(i % 4), T0.AddSeconds(i));
                a.Apply(evt, direct);
                b.Apply(evt, builder);
            }

            throughSides.Add(builder.Build());
        }

        var expected = direct.Drain().ToDictionary(d => d.ItemId);
        var actual = throughSides.Drain().ToDictionary(d => d.ItemId);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (item, delta) in expected)
        {
            Assert.Equal((delta.Count, delta.PurchaseCount), (actual[item].Count, actual[item].PurchaseCount));
            Assert.Equal(delta.Row().OrderBy(e => e.Key), actual[item].Row().OrderBy(e => e.Key));
        }

        Assert.Equal(6, actual["p"].Count); // u1's view (1), u2's view and add_to_cart (1 + 3), u3's view (1)
        Assert.Equal(1, actual["r"].PurchaseCount); // u2's purchase
        Assert.True(direct.IsEmpty);
        Assert.True(builder.Build().IsEmpty);
    }

    [Fact]
    public void The_combiner_starts_each_batch_from_zero_and_forgets_items_idle_for_a_batch()
    {
        var ids = new ItemIdTable();
        int N(string id) => ids.Intern(id);
        var combiner = new DeltaCombiner(ids);
        combiner.AddCooccurrence(N("a"), N("b"), 5);
        combiner.AddItemCount(N("c"), 1);
        Assert.Equal(2, combiner.Drain().Count);

        combiner.AddCooccurrence(N("a"), N("x"), 1);
        var second = combiner.Drain().Select(d => (d.ItemId, d.Count, string.Join(',', d.Row().Select(r => $"{r.Key}={r.Value}")))).ToList();
        Assert.Equal([("a", 0L, "x=1")], second); // b's 5 is gone, c is not re-sent

        Assert.Empty(combiner.Drain());
        Assert.True(combiner.IsEmpty);
    }

    private static string Describe(ItemCooccurrence c) =>
        $"{c.ItemId} {c.Count} {c.RowLength} {string.Join(",", c.Neighbors.Select(n => $"{n.ItemId}={n.Count}"))} {c.PurchaseCount} {c.PurchaseRowLength} {string.Join(",", (c.PurchaseNeighbors ?? []).Select(n => $"{n.ItemId}={n.Count}"))}";
}
