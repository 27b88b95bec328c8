using System.Text.Json;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Tests.Unit;

/// <summary>A user at rest is packed (<see cref="UserModel.Pack"/>, <see cref="UserModel.FromPacked"/>): packing must
/// lose nothing, and a packed user must go on exactly as one that never was.</summary>
public sealed class PackedUserTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_user_packed_at_random_moments_reads_and_continues_as_one_never_packed(int seed)
    {
        var random = new Random(seed);
        var options = new UserGrainOptions { WindowSize = 6, MaxItemSideEventsPerDay = 40 };
        var ids = new ItemIdTable();
        var table = new FactorTable(options.Factors.Dimensions, Enumerable.Range(0, 30).Select(i =>
        {
            var v = new float[options.Factors.Dimensions];
            Bpr.InitItem($"i{i}", 0.1f, v);
            return KeyValuePair.Create($"i{i}", v);
        }));
        var straight = new UserModel("u", options, ids);
        var packed = new UserModel("u", options, ids);
        var straightSide = new DeltaCombiner(ids);
        var packedSide = new DeltaCombiner(ids);
        var packs = 0;

        // Times go forwards by up to a day and, one event in eight, back by up to a day (a late event); items repeat
        // (interaction counts), every type occurs (purchased marks, the daily cap), item numbers reach past one
        // varint byte, and half the events carry the factor table (the vector).
        var ms = T0.ToUnixTimeMilliseconds();
        for (var n = 0; n < 2_000; n++)
        {
            ms += random.Next(8) == 0 ? -random.NextInt64(86_400_000) : random.NextInt64(86_400_000 / 20);
            var item = random.Next(4) == 0 ? $"i{random.Next(30)}" : $"x{random.Next(300)}";
            var evt = new ClickEvent("u", item, (EventType)random.Next(4), DateTimeOffset.FromUnixTimeMilliseconds(ms));
            var factors = n % 2 == 0 ? table : null;
            straight.Apply(evt, straightSide, factors);
            packed.Apply(evt, packedSide, factors);
            if (random.Next(3) == 0)
            {
                var bytes = packed.Pack();
                packed = UserModel.FromPacked("u", options, ids, bytes);
                packs++;
                Same(straight, packed);
                Assert.Equal(bytes, packed.Pack()); // reading left it packed, as it was
            }
        }

        Same(straight, packed);
        Assert.Equal(Deltas(straightSide), Deltas(packedSide));
        Assert.InRange(packs, 500, 900);
        Assert.True(straight.HasFactors);
        Assert.Equal(options.WindowSize, straight.WindowLength);
    }

    [Fact]
    public void An_empty_user_and_one_with_an_interaction_count_past_a_varint_byte_survive_packing()
    {
        var ids = new ItemIdTable();
        var empty = UserModel.FromPacked("e", new UserGrainOptions(), ids, new UserModel("e", new UserGrainOptions(), ids).Pack());
        Assert.Equal(0, empty.TotalEvents);
        Assert.Empty(empty.GetHistory().RecentItems);

        var busy = new UserModel("b", new UserGrainOptions(), ids);
        var sink = new DeltaCombiner(ids);
        for (var i = 0; i < 1_000; i++)
        {
            busy.Apply(new ClickEvent("b", "a", EventType.Purchase, T0.AddSeconds(i)), sink);
        }

        var before = JsonSerializer.Serialize(busy.GetHistory());
        busy = UserModel.FromPacked("b", new UserGrainOptions(), ids, busy.Pack());
        Assert.Equal(before, JsonSerializer.Serialize(busy.GetHistory()));
        Assert.Equal(1_000, busy.GetHistory().RecentItems.Single().Interactions);
    }

    private static void Same(UserModel expected, UserModel actual)
    {
        Assert.Equal(UserGrainStateCodec.Encode(expected.ToState()), UserGrainStateCodec.Encode(actual.ToState()));
        Assert.Equal(JsonSerializer.Serialize(expected.GetHistory()), JsonSerializer.Serialize(actual.GetHistory()));
        Assert.Equal(JsonSerializer.Serialize(expected.GetRecommendationInput()), JsonSerializer.Serialize(actual.GetRecommendationInput()));
        Assert.Equal(expected.TotalEvents, actual.TotalEvents);
    }

    private static string Deltas(DeltaCombiner combiner) =>
        JsonSerializer.Serialize(combiner.Drain().OrderBy(d => d.ItemId, StringComparer.Ordinal));
}
