using System.Numerics.Tensors;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

/// <summary>The BPR factor model: the step's direction, determinism under replay, and that it learns.</summary>
public sealed class FactorModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_step_raises_the_positive_over_the_negative_for_the_user_and_the_item_deltas_point_the_right_way()
    {
        float[] user = [0.1f, -0.2f, 0.3f, 0.05f];
        float[] positive = [0.2f, 0.1f, -0.1f, 0.0f];
        float[] negative = [-0.1f, 0.2f, 0.2f, 0.1f];
        var before = TensorPrimitives.Dot(user, positive) - TensorPrimitives.Dot(user, negative);
        var userBefore = user.ToArray();
        var dp = new float[4];
        var dn = new float[4];

        var x = Bpr.Step(user, positive, negative, 0.1f, 0f, dp, dn);

        Assert.Equal(before, x, 5);
        Assert.True(TensorPrimitives.Dot(user, positive) - TensorPrimitives.Dot(user, negative) > before);
        // Without regularization the item deltas are ±η·σ(−x)·u (the user vector before the step).
        var g = 0.1f / (1f + MathF.Exp(x));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(g * userBefore[i], dp[i], 6);
            Assert.Equal(-g * userBefore[i], dn[i], 6);
        }
    }

    [Fact]
    public void Initial_vectors_and_negatives_are_functions_of_the_ids_alone()
    {
        var a = new float[32];
        var b = new float[32];
        Bpr.InitItem("sku-1", 0.1f, a);
        Bpr.InitItem("sku-1", 0.1f, b);
        Assert.Equal(a, b);
        Assert.All(a, v => Assert.InRange(v, -0.05f, 0.05f));
        Bpr.InitItem("sku-2", 0.1f, b);
        Assert.NotEqual(a, b);
        Bpr.InitUser("sku-1", 0.1f, b);
        Assert.NotEqual(a, b); // users and items draw from different streams

        Assert.Equal(Bpr.NegativeIndex("u", 7, 0, 1000), Bpr.NegativeIndex("u", 7, 0, 1000));
        var buckets = new int[10];
        for (var seq = 0; seq < 10_000; seq++)
        {
            buckets[Bpr.NegativeIndex("u", seq, 0, 10)]++;
        }

        Assert.All(buckets, n => Assert.InRange(n, 850, 1150)); // uniform enough: ±15 % of 1,000
    }

    [Fact]
    public void Replaying_the_same_events_against_the_same_snapshot_gives_the_same_vectors_and_deltas()
    {
        var table = Table(("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5));
        var events = new[] { "a", "b", "c", "a", "d" }.Select((item, i) => new ClickEvent("u", item, EventType.Click, T0.AddSeconds(i))).ToList();

        (float[] User, string Deltas) Replay()
        {
            var ids = new ItemIdTable();
            var grain = new UserModel("u", new UserGrainOptions(), ids);
            var combiner = new DeltaCombiner(ids);
            foreach (var e in events)
            {
                grain.Apply(e, combiner, table);
            }

            var deltas = string.Join(";", combiner.Drain().OrderBy(d => d.ItemId, StringComparer.Ordinal).Select(d => $"{d.ItemId}:{string.Join(",", d.FactorDelta ?? [])}"));
            return (grain.ToState().Factors!, deltas);
        }

        var first = Replay();
        var second = Replay();
        Assert.Equal(first.User, second.User);
        Assert.Equal(first.Deltas, second.Deltas);
        Assert.Contains("e:", first.Deltas, StringComparison.Ordinal); // e was never touched: it can only be a negative
    }

    [Fact]
    public void No_step_happens_without_a_snapshot_of_at_least_two_items_and_the_window_is_never_a_negative()
    {
        var ids = new ItemIdTable();
        var grain = new UserModel("u", new UserGrainOptions(), ids);
        var combiner = new DeltaCombiner(ids);
        grain.Apply(new ClickEvent("u", "a", EventType.View, T0), combiner, Table(("a", 1)));
        Assert.False(grain.HasFactors);

        // With only window items and the positive to draw from, every draw is refused: no step.
        var table = Table(("a", 1), ("b", 2));
        grain.Apply(new ClickEvent("u", "b", EventType.View, T0.AddSeconds(1)), new DeltaCombiner(ids), table);
        grain.Apply(new ClickEvent("u", "a", EventType.View, T0.AddSeconds(2)), combiner, table);
        Assert.DoesNotContain(combiner.Drain(), d => d.FactorDelta is not null);
    }

    [Fact]
    public void An_item_grain_adds_the_steps_to_the_same_initial_vector_the_user_side_assumed()
    {
        var grain = new ItemModel("x", new ItemIdTable());
        grain.Apply(Deltas.Of("x", 0, [], factorDelta: [0.5f, -0.5f]));
        var init = new float[2];
        Bpr.InitItem("x", 0.1f, init);
        Assert.Equal([init[0] + 0.5f, init[1] - 0.5f], grain.ToState().Factors!);
    }

    [Fact]
    public void Trained_through_grains_and_snapshots_the_model_ranks_a_users_own_cluster_first()
    {
        // Two groups of users, each buying within its own group of 10 items. After a few epochs (a snapshot per
        // epoch, as rounds would), every user's vector must score the own group above the other.
        var options = new UserGrainOptions { WindowSize = 3, WindowSeconds = 0, MaxItemSideEventsPerDay = 0 };
        var ids = new ItemIdTable();
        var users = Enumerable.Range(0, 40).Select(u => new UserModel($"u{u}", options, ids)).ToList();
        var items = new Dictionary<string, ItemModel>(StringComparer.Ordinal);
        var table = Table([.. Enumerable.Range(0, 20).Select(i => ($"i{i}", i))]);
        var random = new Random(3);
        var t = T0;
        for (var epoch = 0; epoch < 30; epoch++)
        {
            var combiner = new DeltaCombiner(ids);
            for (var u = 0; u < users.Count; u++)
            {
                var group = u % 2;
                for (var k = 0; k < 5; k++)
                {
                    users[u].Apply(new ClickEvent($"u{u}", $"i{(group * 10) + random.Next(10)}", EventType.Purchase, t = t.AddSeconds(1)), combiner, table);
                }
            }

            foreach (var d in combiner.Drain())
            {
                if (!items.TryGetValue(d.ItemId, out var g))
                {
                    items[d.ItemId] = g = new ItemModel(d.ItemId, ids);
                }

                g.Apply(d);
            }

            table = new FactorTable(32, items.Select(i => (i.Key, i.Value.ToState().Factors)).Where(i => i.Factors is not null).Select(i => KeyValuePair.Create(i.Key, i.Factors!)));
        }

        for (var u = 0; u < users.Count; u++)
        {
            var vector = users[u].ToState().Factors!;
            var own = Enumerable.Range(0, 10).Average(i => TensorPrimitives.Dot(vector, table.Get($"i{((u % 2) * 10) + i}")));
            var other = Enumerable.Range(0, 10).Average(i => TensorPrimitives.Dot(vector, table.Get($"i{((1 - (u % 2)) * 10) + i}")));
            Assert.True(own > other, $"user u{u}: own group {own}, other group {other}");
        }
    }

    [Theory]
    [InlineData(32)]
    [InlineData(5)]
    public void Scoring_the_table_gives_each_rows_dot_product_with_the_vector(int dimensions)
    {
        var random = new Random(dimensions);
        float[] Vector() => [.. Enumerable.Range(0, dimensions).Select(_ => (float)(random.NextDouble() - 0.5))];
        var rows = Enumerable.Range(0, 300).Select(i => KeyValuePair.Create($"i{i:D3}", Vector())).ToList();
        var table = new FactorTable(dimensions, rows);
        var user = Vector();
        var scores = new float[table.Count + 3];

        table.Score(user, scores);

        for (var row = 0; row < table.Count; row++)
        {
            Assert.Equal(TensorPrimitives.Dot(user, table.Get(table.Ids[row])), scores[row], 1e-5f);
        }

        Assert.Throws<ArgumentException>(() => table.Score(new float[dimensions + 1], scores));
    }

    private static FactorTable Table(params (string Id, int Seed)[] items) =>
        new(32, items.Select(i =>
        {
            var v = new float[32];
            Bpr.InitItem(i.Id, 0.1f, v);
            return KeyValuePair.Create(i.Id, v);
        }));
}
