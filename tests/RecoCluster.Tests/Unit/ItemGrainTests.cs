using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Tests.Unit;

public class ItemGrainTests
{
    [Fact]
    public void Deltas_add_up_and_the_row_is_served_largest_first_ties_by_item_id()
    {
        var grain = new ItemGrain("x");
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
        var grain = new ItemGrain("x");
        grain.Apply(new ItemDelta("x", 5, new Dictionary<string, long> { ["é"] = 7, ["b"] = 1 }));
        var restored = new ItemGrain("x", ItemCodec.Decode(ItemCodec.Encode(grain.State)));
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
        var drained = combiner.Drain(item => item == "a" ? 0 : 1);

        Assert.Equal(2, drained[0].Single().Row["b"]);
        Assert.Equal(1, drained[0].Single().Count);
        Assert.Equal(0, drained[1].Single().Count);
        Assert.True(combiner.IsEmpty);
    }

    private sealed class CooccurrenceComparer : IEqualityComparer<ItemCooccurrence>
    {
        public bool Equals(ItemCooccurrence? x, ItemCooccurrence? y) =>
            x!.ItemId == y!.ItemId && x.Count == y.Count && x.RowLength == y.RowLength && x.Neighbors.SequenceEqual(y.Neighbors);

        public int GetHashCode(ItemCooccurrence obj) => obj.ItemId.GetHashCode(StringComparison.Ordinal);
    }
}
