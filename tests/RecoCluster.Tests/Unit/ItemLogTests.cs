using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

/// <summary>Items stored whole or as logged changes (<see cref="ItemShard.TakeWrite"/>): whatever the shard chose,
/// an item read back (its row plus its log) is the item in memory.</summary>
public sealed class ItemLogTests
{
    [Fact]
    public void An_item_written_from_its_model_has_the_bytes_of_its_state()
    {
        var ids = new ItemIdTable();
        var item = new ItemModel("x", ids);
        item.Apply(Deltas.Of("x", 5, new() { ["b"] = 2, ["a"] = 3 }, 1, new() { ["c"] = 1 }, [0.5f, -1f], new() { ["d"] = 60 }));
        item.Apply(Deltas.Of("x", 1, new() { ["a"] = 1, ["e"] = 4 }));
        Assert.Equal(ItemGrainStateCodec.Encode(item.ToState()), ItemGrainStateCodec.Encode(item));
        Assert.Equal(ItemGrainStateCodec.Encode(new ItemModel("y", ids).ToState()), ItemGrainStateCodec.Encode(new ItemModel("y", ids)));
    }

    [Fact]
    public void Items_are_written_in_version_3_which_says_they_may_have_a_log_and_version_2_still_reads()
    {
        // Version 3 has version 2's layout; its number makes a silo that does not know reco_item_log refuse the item.
        var item = new ItemModel("x", new ItemIdTable());
        item.Apply(Deltas.Of("x", 5, new() { ["b"] = 2 }, nextRow: new() { ["c"] = 60 }));
        var written = ItemGrainStateCodec.Encode(item);
        Assert.Equal(3, written[0]);
        var asVersion2 = written.ToArray();
        asVersion2[0] = 2;
        var (current, earlier) = (ItemGrainStateCodec.Decode(written), ItemGrainStateCodec.Decode(asVersion2));
        Assert.Equal((5L, "b", 2L, "c", 60L), (earlier.Count, earlier.RowItems.Single(), earlier.RowCounts.Single(), earlier.NextItems.Single(), earlier.NextCounts.Single()));
        Assert.Equal(current.Count, earlier.Count);
        Assert.Equal(current.RowItems, earlier.RowItems);
        Assert.Equal(current.NextCounts, earlier.NextCounts);
    }

    [Fact]
    public void A_change_adds_its_counts_and_entries_repeated_ids_included_and_replaces_the_vector()
    {
        var state = new ItemGrainState { Count = 3, RowItems = ["a", "b"], RowCounts = [1, 2], Factors = [1f, 2f] };
        var change = ItemGrainStateCodec.Decode(ItemGrainStateCodec.EncodeChange(
            [Deltas.Of("x", 2, new() { ["b"] = 5, ["c"] = 1 }), Deltas.Of("x", 1, new() { ["c"] = 2 }, 1, new() { ["a"] = 1 })],
            [3f, 4f]));

        state.Add(change);

        Assert.Equal((6L, 1L), (state.Count, state.PurchaseCount));
        Assert.Equal(new Dictionary<string, long> { ["a"] = 1, ["b"] = 7, ["c"] = 3 }, state.Row().ToDictionary());
        Assert.Equal(new Dictionary<string, long> { ["a"] = 1 }, state.PurchaseRow().ToDictionary());
        Assert.Equal([3f, 4f], state.Factors!);

        state.Add(ItemGrainStateCodec.Decode(ItemGrainStateCodec.EncodeChange([Deltas.Of("x", 1, new() { ["a"] = 1 })], null)));
        Assert.Equal([3f, 4f], state.Factors!); // a change that did not move the vector keeps it
        Assert.Equal(2, state.Row().Single(p => p.Key == "a").Value);
    }

    [Fact]
    public void A_busy_item_is_logged_then_written_whole_and_always_reads_back_as_in_memory()
    {
        // Storage as the store keeps it: rows, and each item's log in order.
        var rows = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var logs = new Dictionary<string, List<(int Seq, byte[] Payload)>>(StringComparer.Ordinal);
        var shard = new ItemShard(new ItemIdTable(), 0.1f, new Dictionary<int, long>());
        var random = new Random(7);
        var catalog = Enumerable.Range(0, 300).Select(i => $"sku-{i}").ToArray();
        string[] items = ["hot", "warm", "cold"];
        foreach (var id in items)
        {
            shard.Load(id, null);
        }

        int logged = 0, whole = 0, cleared = 0;
        for (var write = 1; write <= 200; write++)
        {
            var deltas = new List<ItemDelta>();
            foreach (var id in items)
            {
                // The hot item changes at every write, the warm one now and then, the cold one once.
                if (id == "hot" || (id == "warm" && write % 7 == 0) || (id == "cold" && write == 1))
                {
                    var row = new Dictionary<string, long>(StringComparer.Ordinal);
                    for (var k = 0; k < random.Next(1, 12); k++)
                    {
                        row[catalog[random.Next(catalog.Length)]] = random.Next(1, 60);
                    }

                    var moved = random.Next(3) == 0 ? new[] { (float)random.NextDouble(), (float)random.NextDouble() } : null;
                    deltas.Add(Deltas.Of(id, row.Count, row, random.Next(2), random.Next(2) == 0 ? null : new() { [catalog[random.Next(10)]] = 1 }, moved, new() { [catalog[random.Next(catalog.Length)]] = 30 }));
                }
            }

            // Two batches of two partitions meet in one write: the change holds both.
            Assert.Equal(ShardApplyOutcome.Applied, shard.Apply(0, write, deltas));
            Assert.Equal(ShardApplyOutcome.Applied, shard.Apply(1, write, deltas.Take(1).ToList()));
            var taken = shard.TakeWrite();
            foreach (var id in taken.ClearedLogs)
            {
                Assert.True(logs.Remove(id));
                cleared++;
            }

            foreach (var (id, payload) in taken.Items)
            {
                Assert.False(logs.ContainsKey(id)); // written whole: no log left behind
                rows[id] = payload;
                whole++;
            }

            foreach (var entry in taken.Logs)
            {
                Assert.True(rows.ContainsKey(entry.ItemId)); // a log only follows a stored row
                var log = logs.TryGetValue(entry.ItemId, out var l) ? l : logs[entry.ItemId] = [];
                Assert.Equal(log.Count == 0 ? 0 : log[^1].Seq + 1, entry.Seq);
                log.Add((entry.Seq, entry.Payload));
                logged++;
            }

            shard.Written(taken);
            foreach (var id in items.Where(rows.ContainsKey))
            {
                var stored = ItemGrainStateCodec.Decode(rows[id]);
                var log = logs.GetValueOrDefault(id) ?? [];
                Assert.True(log.Count <= ItemShard.MaxLogEntries);
                Assert.True(log.Sum(e => e.Payload.Length) <= rows[id].Length, "a log never outgrows its item's row");
                foreach (var (_, payload) in log)
                {
                    stored.Add(ItemGrainStateCodec.Decode(payload));
                }

                AssertSame(shard.Find(id)!.ToState(), stored);
            }
        }

        // Every path was taken: new items whole, changes logged, and busy items rewritten with their log deleted.
        Assert.True(logged > 100, $"{logged} changes logged");
        Assert.True(cleared > 5, $"{cleared} logs cleared");
        Assert.True(whole > cleared, $"{whole} whole writes");
    }

    private static void AssertSame(ItemGrainState expected, ItemGrainState actual)
    {
        Assert.Equal((expected.Count, expected.PurchaseCount), (actual.Count, actual.PurchaseCount));
        Assert.Equal(expected.Row().ToDictionary(), actual.Row().ToDictionary());
        Assert.Equal(expected.PurchaseRow().ToDictionary(), actual.PurchaseRow().ToDictionary());
        Assert.Equal(expected.NextRow().ToDictionary(), actual.NextRow().ToDictionary());
        Assert.Equal(expected.Factors, actual.Factors);
    }
}
