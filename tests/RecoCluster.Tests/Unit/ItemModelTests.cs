using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Tests.Unit;

public class ItemModelTests
{
    [Fact]
    public void Deltas_add_up_and_the_row_is_served_largest_first_ties_by_item_id()
    {
        var grain = new ItemModel("x");
        grain.Apply(new ItemDelta("x", 2, new Dictionary<string, long> { ["b"] = 1, ["a"] = 3 }));
        grain.Apply(new ItemDelta("x", 1, new Dictionary<string, long> { ["b"] = 2, ["c"] = 1, ["d"] = 3 }));

        var row = grain.GetCooccurrence(10);
        Assert.Equal(3, row.Count);
        Assert.Equal(4, row.RowLength);
        Assert.Equal([new Neighbor("a", 3), new Neighbor("b", 3), new Neighbor("d", 3), new Neighbor("c", 1)], row.Neighbors);
        Assert.Equal([new Neighbor("a", 3), new Neighbor("b", 3)], grain.GetCooccurrence(2).Neighbors);
    }

    [Fact]
    public void State_and_batches_round_trip_through_their_codecs()
    {
        var grain = new ItemModel("x");
        grain.Apply(new ItemDelta("x", 5, new Dictionary<string, long> { ["é"] = 7, ["b"] = 1 }));
        var restored = new ItemModel("x", ItemCodec.Decode(ItemCodec.Encode(grain.State)));
        Assert.Equal(grain.GetCooccurrence(10), restored.GetCooccurrence(10), new CooccurrenceComparer());

        var batch = new ItemDeltaBatch(3, 1234, [new ItemDelta("x", 1, new Dictionary<string, long> { ["y"] = 2 })]);
        var back = ItemCodec.DecodeBatch(ItemCodec.Encode(batch));
        Assert.Equal(3, back.SourcePartition);
        Assert.Equal(1234, back.BatchEnd);
        Assert.Equal(2, back.Items.Single().Row["y"]);
    }

    [Fact]
    public void The_combiner_groups_items_by_partition()
    {
        var combiner = new DeltaCombiner();
        combiner.AddItemCount("a", 1);
        combiner.AddCooccurrence("a", "b", 1);
        combiner.AddCooccurrence("a", "b", 1);
        combiner.AddCooccurrence("b", "a", 1);
        var drained = combiner.Drain(item => item == "a" ? 0 : 1, (partition, deltas) => (partition, Encoded: ItemCodec.Encode(new ItemDeltaBatch(0, 1, deltas))));

        Assert.Equal([0, 1], drained.Select(d => d.partition));
        var first = ItemCodec.DecodeBatch(drained[0].Encoded).Items.Single();
        Assert.Equal(("a", 1L, 2L), (first.ItemId, first.Count, first.Row["b"]));
        var second = ItemCodec.DecodeBatch(drained[1].Encoded).Items.Single();
        Assert.Equal(("b", 0L, 1L), (second.ItemId, second.Count, second.Row["a"]));
        Assert.True(combiner.IsEmpty);
    }

    [Fact]
    public void The_combiner_starts_each_batch_from_zero_and_forgets_items_idle_for_a_batch()
    {
        var combiner = new DeltaCombiner();
        combiner.AddCooccurrence("a", "b", 5);
        combiner.AddItemCount("c", 1);
        _ = combiner.Drain(_ => 0, (_, deltas) => deltas.Count);

        combiner.AddCooccurrence("a", "x", 1);
        var second = combiner.Drain(_ => 0, (_, deltas) => deltas.Select(d => (d.ItemId, d.Count, string.Join(',', d.Row.Select(r => $"{r.Key}={r.Value}")))).ToList());
        Assert.Equal([("a", 0L, "x=1")], second.Single()); // b's 5 is gone, c is not re-sent

        var third = combiner.Drain(_ => 0, (_, deltas) => deltas.Count);
        Assert.Empty(third);
        Assert.True(combiner.IsEmpty);
    }

    private sealed class CooccurrenceComparer : IEqualityComparer<ItemCooccurrence>
    {
        public bool Equals(ItemCooccurrence? x, ItemCooccurrence? y) =>
            x!.ItemId == y!.ItemId && x.Count == y.Count && x.RowLength == y.RowLength && x.Neighbors.SequenceEqual(y.Neighbors);

        public int GetHashCode(ItemCooccurrence obj) => obj.ItemId.GetHashCode(StringComparison.Ordinal);
    }
}
