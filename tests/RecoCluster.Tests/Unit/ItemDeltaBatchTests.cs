using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

/// <summary>An item shard's batch between silos (<see cref="ItemDeltaBatchConverter"/>) and within one.</summary>
public sealed class ItemDeltaBatchTests
{
    private static readonly IServiceProvider Services = new ServiceCollection().AddSerializer().BuildServiceProvider();

    private static ItemDeltaBatch Batch() => new([
        Deltas.Of("hot", 3, new() { ["a"] = 2, ["b"] = 1, ["é-ü"] = 7 }, purchaseCount: 1, purchaseRow: new() { ["a"] = 1 }, factorDelta: [0.5f, -0.25f], nextRow: new() { ["b"] = 4 }),
        Deltas.Of("a", 1, new() { ["hot"] = 2, ["b"] = 3_000_000_000 }),
        Deltas.Of("b", 0, new(), factorDelta: [1f, 2f]),
        Deltas.Of("cold", 2, new() { ["hot"] = 1 }, purchaseCount: 2),
    ]);

    [Fact]
    public void A_batch_that_leaves_the_silo_arrives_with_every_delta_as_it_was_and_in_fewer_bytes_than_the_deltas_own_form()
    {
        var serializer = Services.GetRequiredService<Serializer>();
        var batch = Batch();

        var bytes = serializer.SerializeToArray(batch);
        var arrived = serializer.Deserialize<ItemDeltaBatch>(bytes);

        Assert.NotNull(arrived);
        Assert.NotSame(batch, arrived);
        Assert.Equal(batch.Deltas.Length, arrived.Deltas.Length);
        for (var i = 0; i < batch.Deltas.Length; i++)
        {
            var (sent, got) = (batch.Deltas[i], arrived.Deltas[i]);
            Assert.Equal(sent.ItemId, got.ItemId);
            Assert.Equal(sent.Count, got.Count);
            Assert.Equal(sent.Row(), got.Row());
            Assert.Equal(sent.PurchaseCount, got.PurchaseCount);
            Assert.Equal(sent.PurchaseOthers, got.PurchaseOthers);
            Assert.Equal(sent.PurchaseOtherCounts, got.PurchaseOtherCounts);
            Assert.Equal(sent.FactorDelta, got.FactorDelta);
            Assert.Equal(sent.NextOthers, got.NextOthers);
            Assert.Equal(sent.NextOtherCounts, got.NextOtherCounts);
        }

        // The point of the form: each id once. The deltas' own serializer writes an id at every row entry.
        Assert.True(bytes.Length < serializer.SerializeToArray(batch.Deltas).Length, $"{bytes.Length} bytes");
    }

    [Fact]
    public void A_deltas_silo_numbers_never_leave_the_silo()
    {
        // The numbers mean something only to the table that gave them: neither the batch's form nor Orleans' own
        // serializer of a delta carries them.
        var serializer = Services.GetRequiredService<Serializer>();
        var ids = new ItemIdTable();
        var combiner = new DeltaCombiner(ids);
        combiner.AddCooccurrence(ids.Intern("a"), ids.Intern("b"), 2);
        var delta = Assert.Single(combiner.Drain());
        Assert.NotNull(delta.Numbers);

        var batch = serializer.Deserialize<ItemDeltaBatch>(serializer.SerializeToArray(new ItemDeltaBatch([delta])))!;
        var alone = serializer.Deserialize<ItemDelta>(serializer.SerializeToArray(delta))!;

        Assert.Null(Assert.Single(batch.Deltas).Numbers);
        Assert.Null(alone.Numbers);
        Assert.Equal(delta.Row(), alone.Row());
    }

    [Fact]
    public void A_batch_that_arrives_at_a_silo_is_numbered_by_that_silos_table()
    {
        // The receiving silo looks each id of the batch's table up once in its own table; every delta then carries
        // those numbers, entry for entry, so its shard adds them without a lookup per entry.
        var receiver = new ServiceCollection().AddSerializer().AddSingleton<ItemIdTable>().BuildServiceProvider();
        var ids = receiver.GetRequiredService<ItemIdTable>();
        ids.Intern("already-known"); // so that the receiver's numbers are not the sender's positions
        var bytes = Services.GetRequiredService<Serializer>().SerializeToArray(Batch());

        var arrived = receiver.GetRequiredService<Serializer>().Deserialize<ItemDeltaBatch>(bytes)!;

        Assert.Equal(Batch().Deltas.Length, arrived.Deltas.Length);
        foreach (var delta in arrived.Deltas)
        {
            var numbers = delta.Numbers!;
            Assert.Same(ids, numbers.Table);
            Assert.Equal(ids.Find(delta.ItemId), numbers.Item);
            Assert.Equal(delta.Others.Select(ids.Find), numbers.Others);
            Assert.Equal(delta.PurchaseOthers?.Select(ids.Find), numbers.PurchaseOthers);
            Assert.Equal(delta.NextOthers?.Select(ids.Find), numbers.NextOthers);
        }

        Assert.NotNull(arrived.Deltas[0].Numbers!.PurchaseOthers); // "hot" has every kind of row
        Assert.NotNull(arrived.Deltas[0].Numbers!.NextOthers);
    }

    [Fact]
    public void A_batch_for_a_shard_on_the_same_silo_is_handed_over_as_it_is()
    {
        // What Orleans does with a local call's arguments: a copy, unless the type is immutable.
        var batch = Batch();
        Assert.Same(batch, Services.GetRequiredService<DeepCopier<ItemDeltaBatch>>().Copy(batch));
    }
}
