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
    public void A_batch_for_a_shard_on_the_same_silo_is_handed_over_as_it_is()
    {
        // What Orleans does with a local call's arguments: a copy, unless the type is immutable.
        var batch = Batch();
        Assert.Same(batch, Services.GetRequiredService<DeepCopier<ItemDeltaBatch>>().Copy(batch));
    }
}
