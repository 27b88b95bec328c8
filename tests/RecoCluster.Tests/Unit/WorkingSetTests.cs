using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

/// <summary>What a partition's ingress holds of its users (<see cref="UserWorkingSet"/>) and an item shard of its items
/// (<see cref="ItemShard"/>): what comes from storage, what changes, what is stored, what is forgotten.</summary>
public sealed class WorkingSetTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Users_come_from_storage_change_in_memory_and_are_forgotten_only_once_stored()
    {
        var ids = new ItemIdTable();
        var users = new UserWorkingSet(new UserGrainOptions(), ids, capacity: 10);
        var sink = new DeltaCombiner(ids);

        // A stored user is taken as stored; an unknown one starts empty.
        var stored = new UserModel("old", new UserGrainOptions(), ids);
        stored.Apply(new ClickEvent("old", "a", EventType.View, T0), sink);
        Assert.Equal(["old", "new"], users.Missing(["old", "new"]));
        users.Load("old", stored.ToState());
        users.Load("new", null);
        Assert.Empty(users.Missing(["old", "new"]));
        users.Load("old", null); // already in memory: kept as it is
        Assert.True(users.TryGet("old", out var old) && old!.TotalEvents == 1);
        Assert.True(users.TryGet("new", out var empty) && empty is null);
        Assert.False(users.TryGet("unknown", out _));
        Assert.Throws<InvalidOperationException>(() => users.Apply("unknown", new ClickEvent("unknown", "a", EventType.View, T0), sink, null));

        users.Apply("old", new ClickEvent("old", "b", EventType.View, T0.AddSeconds(1)), sink, null);
        users.Apply("new", new ClickEvent("new", "a", EventType.View, T0.AddSeconds(2)), sink, null);
        users.Apply("new", new ClickEvent("new", "c", EventType.View, T0.AddSeconds(3)), sink, null);
        var changed = users.Changed();
        Assert.Equal(["old", "new"], changed.Select(c => c.UserId));
        Assert.Equal([2, 2], changed.Select(c => c.State!.Counts.Sum()));

        // A failed store drops the changed users; the next attempt loads them again from storage.
        users.Discard();
        Assert.Equal(["old", "new"], users.Missing(["old", "new"]));
        Assert.Equal(0, users.ChangedCount);

        // Stored users are forgotten, oldest first, once there are more than the capacity; changed ones never.
        users.Load("old", stored.ToState());
        for (var u = 0; u < 12; u++)
        {
            users.Load($"u{u}", null);
            users.Apply($"u{u}", new ClickEvent($"u{u}", "a", EventType.View, T0), sink, null);
            users.Stored();
        }

        Assert.True(users.Count <= 10, $"{users.Count} users in memory");
        Assert.False(users.TryGet("old", out _));
        Assert.True(users.TryGet("u11", out var rested) && rested!.TotalEvents == 1); // stored, and read back from its packed form
    }

    [Fact]
    public void A_lowered_capacity_forgets_the_oldest_stored_users_at_the_next_store_and_never_a_changed_one()
    {
        var ids = new ItemIdTable();
        var users = new UserWorkingSet(new UserGrainOptions(), ids, capacity: 100);
        var sink = new DeltaCombiner(ids);
        for (var u = 0; u < 50; u++)
        {
            users.Load($"u{u}", null);
            users.Apply($"u{u}", new ClickEvent($"u{u}", "a", EventType.View, T0), sink, null);
            users.Stored();
        }

        // Its silo took on more partitions: this partition's share of users falls to 20.
        users.Capacity = 20;
        Assert.Equal(50, users.Count); // not before the next store
        users.Load("fresh", null);
        users.Apply("fresh", new ClickEvent("fresh", "a", EventType.View, T0), sink, null);
        users.Apply("u0", new ClickEvent("u0", "b", EventType.View, T0), sink, null);
        users.Stored();

        Assert.Equal(18, users.Count); // nine tenths of the capacity
        Assert.True(users.TryGet("fresh", out _) && users.TryGet("u0", out _)); // touched last, kept
        Assert.False(users.TryGet("u1", out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => users.Capacity = 0);
    }

    [Fact]
    public void An_erased_user_is_stored_as_a_deletion_and_then_has_no_history()
    {
        var ids = new ItemIdTable();
        var users = new UserWorkingSet(new UserGrainOptions(), ids, capacity: 10);
        var sink = new DeltaCombiner(ids);
        users.Load("gone", null);
        users.Apply("gone", new ClickEvent("gone", "a", EventType.View, T0), sink, null);
        users.Apply("gone", null, sink, null);
        var change = Assert.Single(users.Changed());
        Assert.Null(change.State);
        users.Stored();
        Assert.True(users.TryGet("gone", out var model));
        Assert.Null(model);

        // Events after the erasure start a fresh history.
        users.Apply("gone", new ClickEvent("gone", "b", EventType.View, T0.AddSeconds(1)), sink, null);
        Assert.True(users.TryGet("gone", out model));
        Assert.Equal(["b"], model!.GetHistory().RecentItems.Select(r => r.ItemId));
    }

    [Fact]
    public void An_item_shard_counts_a_batch_once_per_partition_and_stores_items_with_their_watermarks()
    {
        var shard = new ItemShard(new ItemIdTable(), 0.1f, new Dictionary<int, long> { [0] = 100 });
        ItemDelta[] batch = [Deltas.Of("x", 2, new() { ["y"] = 1 })];
        Assert.Equal(["x"], shard.Missing(["x", "x"]));
        shard.Load("x", null);
        Assert.Throws<InvalidOperationException>(() => shard.Apply(1, 10, [Deltas.Of("not-loaded", 1, [])]));

        Assert.Equal(ShardApplyOutcome.Replay, shard.Apply(0, 100, batch)); // at the stored watermark
        Assert.Equal(ShardApplyOutcome.Applied, shard.Apply(0, 150, batch));
        Assert.Equal(ShardApplyOutcome.Applied, shard.Apply(1, 10, batch));
        Assert.Equal(ShardApplyOutcome.NotYetStored, shard.Apply(0, 150, batch)); // a retry while unstored
        Assert.True(shard.HasChanges);

        var write = shard.TakeWrite();
        Assert.Equal(new Dictionary<int, long> { [0] = 150, [1] = 10 }, write.Watermarks);
        Assert.Empty(write.Logs); // never stored: written whole
        var (itemId, payload) = Assert.Single(write.Items);
        Assert.Equal("x", itemId);
        Assert.Equal(4, ItemGrainStateCodec.Decode(payload).Count);

        // Applied while that write runs: in the next one, not this.
        Assert.Equal(ShardApplyOutcome.Applied, shard.Apply(2, 5, batch));
        shard.Written(write);
        Assert.Equal(ShardApplyOutcome.Replay, shard.Apply(0, 150, batch));
        Assert.True(shard.HasChanges);
        Assert.Equal(new Dictionary<int, long> { [0] = 150, [1] = 10, [2] = 5 }, shard.TakeWrite().Watermarks);
        Assert.Equal(6, shard.Find("x")!.Count);
    }

    [Fact]
    public void An_item_shard_over_its_memory_budget_forgets_the_stored_items_used_least_recently_and_never_a_changed_one()
    {
        var shard = new ItemShard(new ItemIdTable(), 0.1f, new Dictionary<int, long>());
        var others = Enumerable.Range(0, 50).ToDictionary(o => $"o{o}", _ => 1L);
        for (var i = 0; i < 10; i++)
        {
            shard.Load($"i{i}", null);
            Assert.Equal(ShardApplyOutcome.Applied, shard.Apply(0, i + 1, [Deltas.Of($"i{i}", 1, others)]));
            shard.Written(shard.TakeWrite()); // i0 used first, i9 last
        }

        var perItem = shard.Find("i0")!.HeapBytes;
        Assert.Equal(10 * perItem, shard.HeapBytes);

        // i3 is used again and i5 changed and not stored yet; the budget falls to about four items' worth.
        shard.Apply(0, 11, [Deltas.Of("i3", 1, [])]);
        shard.Written(shard.TakeWrite());
        shard.Apply(0, 12, [Deltas.Of("i5", 1, [])]);
        shard.MemoryBudget = 4 * perItem + (perItem / 2);
        shard.Written(new ShardWrite([], [], [], new Dictionary<int, long> { [0] = 11 })); // a write that took i3's change, not i5's

        // Down to nine tenths of the budget: i0, i1, i2, i4, i6 and i7 go (oldest first, i3 and i5 skipped).
        Assert.Equal(6, shard.Forgotten);
        Assert.Equal(["i3", "i5", "i8", "i9"], Enumerable.Range(0, 10).Select(i => $"i{i}").Where(id => shard.Find(id) is not null));
        Assert.Equal(4 * perItem, shard.HeapBytes);
        Assert.Equal(["i0"], shard.Missing(["i0", "i3"])); // loaded again when a batch needs it

        // Nothing more is forgotten while the shard is within its budget.
        shard.Written(shard.TakeWrite());
        Assert.Equal(6, shard.Forgotten);

        // However small the budget, an item with a change not stored stays: it holds the only copy of that change.
        shard.Apply(0, 13, [Deltas.Of("i8", 1, [])]);
        shard.MemoryBudget = 1;
        shard.Written(new ShardWrite([], [], [], new Dictionary<int, long> { [0] = 12 }));
        Assert.Equal(["i8"], Enumerable.Range(0, 10).Select(i => $"i{i}").Where(id => shard.Find(id) is not null));
        Assert.Equal(perItem, shard.HeapBytes);
    }

    [Fact]
    public void A_pinned_item_is_not_forgotten_until_every_pin_is_undone()
    {
        var shard = new ItemShard(new ItemIdTable(), 0.1f, new Dictionary<int, long>());
        foreach (var id in new[] { "a", "b" })
        {
            shard.Load(id, null);
        }

        // A call waiting for storage pins its batch's items (twice here: two calls); a write then forgets all it may.
        shard.Pin(["a"]);
        shard.Pin(["a", "a"]);
        shard.MemoryBudget = 1;
        shard.Written(shard.TakeWrite());
        Assert.NotNull(shard.Find("a"));
        Assert.Null(shard.Find("b"));

        shard.Unpin(["a"]);
        shard.Written(shard.TakeWrite());
        Assert.NotNull(shard.Find("a")); // one pin left

        shard.Unpin(["a", "a"]);
        shard.Written(shard.TakeWrite());
        Assert.Null(shard.Find("a"));
        Assert.Equal(2, shard.Forgotten);
    }
}
