using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
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
    public void State_round_trips_through_its_stored_form()
    {
        var grain = new ItemModel("x", new ItemIdTable());
        grain.Apply(Deltas.Of("x", 5, new() { ["é"] = 7, ["b"] = 1 }, purchaseCount: 2, purchaseRow: new() { ["b"] = 1 }, factorDelta: [0.25f, 0.5f], nextRow: new() { ["b"] = 60, ["é"] = 20 }));
        var stored = ItemGrainStateCodec.Decode(ItemGrainStateCodec.Encode(grain.ToState()));
        Assert.Equal(80, stored.NextCounts.Sum());

        // Read back by another silo, whose table numbers the items in another order.
        var other = new ItemIdTable();
        other.Intern("zzz");
        var restored = new ItemModel("x", other, stored);
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

    [Theory]
    [InlineData(3)]
    [InlineData(30)]
    [InlineData(600)] // more keys than the merge places on the stack
    public void A_long_count_row_takes_small_changes_anywhere_as_a_dictionary_does(int changeSize)
    {
        // A row of 10,000 even keys, then changes of a few keys that land before it, after it, between two of its
        // keys (several new keys in one gap), on existing keys, and both at once.
        var random = new Random(changeSize);
        var row = new CountRow();
        var expected = new Dictionary<int, long>();
        var initial = Enumerable.Range(0, 10_000).Select(i => 2 * i).ToArray();
        row.Add(initial.ToArray(), initial.Select(k => (long)(k % 7) + 1).ToArray());
        foreach (var k in initial)
        {
            expected[k] = (k % 7) + 1;
        }

        for (var round = 0; round < 300; round++)
        {
            var keys = new int[random.Next(1, changeSize + 1)];
            var counts = new long[keys.Length];
            var kind = round % 4;
            for (var i = 0; i < keys.Length; i++)
            {
                keys[i] = kind switch
                {
                    0 => 2 * random.Next(0, 10_000), // existing keys only: added in place
                    1 => 500 + random.Next(0, 5), // one gap or two: new keys with the same place
                    2 => random.Next(0, 2) == 0 ? -random.Next(1, 1_000) : 20_000 + random.Next(0, 1_000), // before and after
                    _ => random.Next(-100, 20_100), // anywhere
                };
                counts[i] = random.Next(1, 9);
                expected[keys[i]] = expected.GetValueOrDefault(keys[i]) + counts[i];
            }

            row.Add(keys, counts);
            Assert.Equal(expected.Count, row.Length);
        }

        Assert.Equal(expected.Keys.Order(), row.Keys.ToArray());
        var actual = new long[row.Length];
        row.CopyCountsTo(actual);
        Assert.Equal(expected.OrderBy(e => e.Key).Select(e => e.Value), actual);
    }

    [Fact]
    public void A_count_row_moves_to_64_bit_counts_before_any_count_passes_the_32_bit_range_and_stays_exact()
    {
        var row = new CountRow();
        row.Add(new[] { 3, 1, 2 }, new[] { int.MaxValue - 1L, 5L, 7L });
        Assert.False(row.IsWide);
        Assert.Equal(int.MaxValue - 1L, row[3]);

        // One more meeting of 3 and a new key: 3's count passes int.MaxValue, so the whole row widens first.
        row.Add(new[] { 3, 4, 1 }, new[] { 2L, 9L, 1L });
        Assert.True(row.IsWide);
        Assert.Equal([1, 2, 3, 4], row.Keys.ToArray());
        Assert.Equal([6L, 7L, int.MaxValue + 1L, 9L], Enumerable.Range(0, row.Length).Select(row.CountAt));

        // It stays wide, and keeps adding exactly; a new key can bring a 64-bit count of its own.
        row.Add(new[] { 3, 5 }, new[] { (long)int.MaxValue, 5_000_000_000L });
        Assert.Equal(2L * int.MaxValue + 1, row[3]);
        Assert.Equal(5_000_000_000L, row[5]);
        var copied = new long[row.Length];
        row.CopyCountsTo(copied);
        Assert.Equal([6L, 7L, 2L * int.MaxValue + 1, 9L, 5_000_000_000L], copied);

        var fresh = new CountRow();
        fresh.Add(new[] { 8 }, new[] { 3_000_000_000L });
        Assert.True(fresh.IsWide);
        Assert.Equal(3_000_000_000L, fresh[8]);
        Assert.Throws<ArgumentOutOfRangeException>(() => fresh.CountAt(1));
    }

    [Fact]
    public void State_and_item_sides_stored_before_sequential_counts_still_read_with_an_empty_sequential_row()
    {
        // Version 1 as it was written: version byte, N, NP, the row (length, then per entry the id's length, its
        // UTF-8 bytes and the count), the purchase row, the vector (0: none); every number a varint. Written out
        // byte by byte here, not by the codec under test.
        byte[] itemV1 = [1, 5, 1, 1, 1, (byte)'b', 2, 0, 0];
        var state = ItemGrainStateCodec.Decode(itemV1);
        Assert.Equal((5L, 1L), (state.Count, state.PurchaseCount));
        Assert.Equal(["b"], state.RowItems);
        Assert.Equal([2L], state.RowCounts);
        Assert.Empty(state.NextItems);
        Assert.Equal(0, new ItemModel("a", new ItemIdTable(), state).NextRowLength);

        byte[] sideV1 = [1, 1, 1, (byte)'a', 3, 1, 1, (byte)'b', 2, 0, 0, 0];
        var side = ItemDeltaCodec.Decode(sideV1).Single();
        Assert.Equal(("a", 3L), (side.ItemId, side.Count));
        Assert.Null(side.NextOthers);
        Assert.Throws<InvalidDataException>(() => ItemGrainStateCodec.Decode([4, 0, 0, 0, 0, 0]));

        // Version 2 of the item side, as stored before its id table: ids in UTF-8 at every use, and a sequential row.
        byte[] sideV2 = [2, 1, 1, (byte)'a', 3, 1, 1, (byte)'b', 2, 0, 0, 0, 1, 1, (byte)'c', 60];
        var second = ItemDeltaCodec.Decode(sideV2).Single();
        Assert.Equal(("a", 3L, "b", 2L), (second.ItemId, second.Count, second.Others.Single(), second.OtherCounts.Single()));
        Assert.Equal(("c", 60L), (second.NextOthers!.Single(), second.NextOtherCounts!.Single()));
    }

    [Fact]
    public void A_batchs_item_side_and_a_shards_watermarks_round_trip_through_their_stored_forms()
    {
        ItemDelta[] side =
        [
            Deltas.Of("a", 3, new() { ["b"] = 2, ["ü"] = 1 }, purchaseCount: 1, purchaseRow: new() { ["b"] = 1 }, factorDelta: [0.5f, -1f]),
            Deltas.Of("b", 0, []),
        ];
        side[1] = side[1] with { NextOthers = ["a", "c"], NextOtherCounts = [60, 30] };
        var back = ItemDeltaCodec.Decode(ItemDeltaCodec.Encode(side));
        Assert.Equal(2, back.Length);
        Assert.Null(back[0].NextOthers);
        Assert.Equal(["a", "c"], back[1].NextOthers!);
        Assert.Equal([60L, 30L], back[1].NextOtherCounts!);
        Assert.Equal(("a", 3L, 1L), (back[0].ItemId, back[0].Count, back[0].PurchaseCount));
        Assert.Equal(side[0].Row(), back[0].Row());
        Assert.Equal(["b"], back[0].PurchaseOthers!);
        Assert.Equal([0.5f, -1f], back[0].FactorDelta!);
        Assert.Null(back[1].PurchaseOthers);
        Assert.Null(back[1].FactorDelta);

        // Every id once in the stored form, however many rows name it.
        const string longId = "a-rather-long-item-identifier";
        ItemDelta[] many = [.. Enumerable.Range(0, 50).Select(i => Deltas.Of($"i{i}", 1, new() { [longId] = i + 1 }, nextRow: new() { [longId] = 60 }))];
        var encoded = ItemDeltaCodec.Encode(many);
        Assert.Equal(1, Occurrences(encoded, System.Text.Encoding.UTF8.GetBytes(longId)));
        Assert.All(ItemDeltaCodec.Decode(encoded).Zip(many), p =>
        {
            Assert.Equal(p.Second.ItemId, p.First.ItemId);
            Assert.Equal(p.Second.Row(), p.First.Row());
            Assert.Equal(p.Second.NextOtherCounts!, p.First.NextOtherCounts!);
        });

        var watermarks = new Dictionary<int, long> { [0] = -1, [7] = 123_456_789_012 };
        Assert.Equal(watermarks, WatermarksCodec.Decode(WatermarksCodec.Encode(watermarks)));
        Assert.Throws<InvalidDataException>(() => ItemDeltaCodec.Decode(ItemDeltaCodec.Encode(side).AsSpan(0, 10)));
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

    [Fact]
    public void The_combiners_pair_log_sums_like_a_dictionary_through_growth_and_shrinking()
    {
        // Enough pairs to grow the log several times, repeats to sum, and then a small batch after a
        // large one (the log gives its capacity back): every drain equals a plain recount of what was added.
        var ids = new ItemIdTable();
        var numbers = Enumerable.Range(0, 400).Select(i => ids.Intern($"n{i}")).ToArray();
        var combiner = new DeltaCombiner(ids);
        var random = new Random(11);
        foreach (var additions in new[] { 50_000, 300, 20_000, 0, 10 })
        {
            var expected = new Dictionary<(string, string), long>();
            for (var k = 0; k < additions; k++)
            {
                var (item, other, count) = (numbers[random.Next(numbers.Length)], numbers[random.Next(numbers.Length)], (long)random.Next(1, 100));
                combiner.AddCooccurrence(item, other, count);
                expected[(ids[item], ids[other])] = expected.GetValueOrDefault((ids[item], ids[other])) + count;
            }

            var drained = combiner.Drain();
            var actual = drained.SelectMany(d => d.Row().Select(r => ((d.ItemId, r.Key), r.Value))).ToDictionary(p => p.Item1, p => p.Value);
            Assert.Equal(expected.Count, actual.Count);
            Assert.All(expected, e => Assert.Equal(e.Value, actual[e.Key]));
            Assert.All(drained, d => Assert.Equal(d.Others.Length, d.Others.Distinct().Count())); // one entry per pair
            Assert.True(combiner.IsEmpty);
        }
    }

    [Fact]
    public void Drains_of_catalogs_of_different_sizes_on_one_thread_each_sum_only_their_own_pairs()
    {
        // The drain's counting arrays are kept per thread and sized by the largest item number seen: a small
        // catalog's drain after a large one's, and a large one's after a small one's, must each start from zero.
        var sizes = new[] { 5_000, 7, 20_000, 3 };
        foreach (var size in sizes)
        {
            var ids = new ItemIdTable();
            var numbers = Enumerable.Range(0, size).Select(i => ids.Intern($"c{size}-{i}")).ToArray();
            var combiner = new DeltaCombiner(ids);
            var expected = new Dictionary<(string, string), long>();
            for (var k = 0; k < 3 * size; k++)
            {
                var (item, other) = (numbers[(k * 7) % size], numbers[(k * 13 + 1) % size]);
                combiner.AddCooccurrence(item, other, 2);
                expected[(ids[item], ids[other])] = expected.GetValueOrDefault((ids[item], ids[other])) + 2;
            }

            var actual = combiner.Drain().SelectMany(d => d.Row().Select(r => ((d.ItemId, r.Key), r.Value))).ToDictionary(p => p.Item1, p => p.Value);
            Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(e => e.Key));
        }
    }

    [Fact]
    public void A_delta_numbered_by_its_silos_table_applies_and_stores_as_its_ids_do_and_other_tables_numbers_are_not_used()
    {
        // A combiner's deltas carry its table's numbers beside the ids. A model on the same table adds by the numbers;
        // one on another table, where the same numbers name other items, must look the ids up; and with the numbers
        // taken away the result is the same. The stored change is byte for byte the one encoded from the ids.
        var ids = new ItemIdTable();
        var other = new ItemIdTable();
        foreach (var id in new[] { "z", "y", "x", "w", "v" })
        {
            other.Intern(id); // numbers in another order than the combiner's table gives them below
        }

        var combiner = new DeltaCombiner(ids);
        int N(string id) => ids.Intern(id);
        combiner.AddCooccurrence(N("v"), N("w"), 3);
        combiner.AddCooccurrence(N("v"), N("z"), 2);
        combiner.AddCooccurrence(N("v"), N("x"), 1);
        combiner.AddPurchaseCooccurrence(N("v"), N("y"), 4);
        combiner.AddNext(N("v"), N("z"), 6);
        combiner.AddItemCount(N("v"), 5);
        var delta = Assert.Single(combiner.Drain());
        Assert.NotNull(delta.Numbers);
        Assert.Same(ids, delta.Numbers.Table);
        Assert.Equal(delta.Others.Select(ids.Intern), delta.Numbers.Others);

        var bare = delta with { Numbers = null };
        var byNumber = new ItemModel("v", ids);
        var byId = new ItemModel("v", ids);
        var elsewhere = new ItemModel("v", other);
        byNumber.Apply(delta);
        byId.Apply(bare);
        elsewhere.Apply(delta);
        Assert.Equal(Describe(byId.GetCooccurrence(10)), Describe(byNumber.GetCooccurrence(10)));
        Assert.Equal(Describe(byId.GetCooccurrence(10)), Describe(elsewhere.GetCooccurrence(10)));
        Assert.Equal("w=3,z=2,x=1", string.Join(",", byNumber.GetCooccurrence(10).Neighbors.Select(n => $"{n.ItemId}={n.Count}")));
        Assert.Equal(["z=6"], byNumber.GetCooccurrence(10).NextNeighbors!.Select(n => $"{n.ItemId}={n.Count}"));
        Assert.Equal(ItemGrainStateCodec.EncodeChange([bare], null), ItemGrainStateCodec.EncodeChange([delta], null, ids));
        Assert.Equal(ItemGrainStateCodec.EncodeChange([bare], null), ItemGrainStateCodec.EncodeChange([delta], null, other));
    }

    [Fact]
    public void A_shards_rows_take_every_batch_since_the_last_write_at_the_write_and_a_read_between_sees_them_all()
    {
        // Rows take a write's batches in one merge (ItemModel.ApplyCounts, AddRows). Three partitions' batches of random
        // deltas for a few items, named three ways (by the shard's table's numbers, by ids alone, by a foreign
        // table's numbers), with repeats within and across batches; then a read, then more batches and the write.
        // The read must see every batch applied, the write must store every batch, and the shard's count of its
        // items' bytes must follow the rows as they grow.
        var ids = new ItemIdTable();
        var foreign = new ItemIdTable();
        for (var i = 40; i >= 0; i--)
        {
            foreign.Intern($"o{i}"); // numbers that name other items in the shard's table
        }

        var shard = new ItemShard(ids, 0.1f, new Dictionary<int, long>());
        var items = new[] { "a", "b", "c" };
        var expected = items.ToDictionary(i => i, _ => (Row: new Dictionary<string, long>(), Purchases: new Dictionary<string, long>(), Next: new Dictionary<string, long>()));
        var random = new Random(2026_12_08);
        var batchEnd = 0L;

        void Batches(int count)
        {
            for (var b = 0; b < count; b++)
            {
                var partition = b % 3;
                var deltas = new List<ItemDelta>();
                foreach (var item in items.Where(_ => random.Next(4) > 0))
                {
                    Dictionary<string, long> Draw(Dictionary<string, long> into)
                    {
                        var row = new Dictionary<string, long>();
                        for (var e = random.Next(0, 12); e > 0; e--)
                        {
                            var other = $"o{random.Next(40)}";
                            var c = random.Next(1, 5);
                            row[other] = row.GetValueOrDefault(other) + c;
                            into[other] = into.GetValueOrDefault(other) + c;
                        }

                        return row;
                    }

                    var delta = Deltas.Of(item, 1, Draw(expected[item].Row), purchaseRow: Draw(expected[item].Purchases), nextRow: Draw(expected[item].Next));
                    var table = (b % 3) switch { 0 => ids, 1 => null, _ => foreign };
                    deltas.Add(table is null ? delta : delta with
                    {
                        Numbers = new ItemDeltaNumbers(table, table.Intern(item), [.. delta.Others.Select(table.Intern)], [.. delta.PurchaseOthers!.Select(table.Intern)], [.. delta.NextOthers!.Select(table.Intern)]),
                    });
                }

                foreach (var missing in shard.Missing(deltas.Select(d => d.ItemId)))
                {
                    shard.Load(missing, null);
                }

                Assert.Equal(ShardApplyOutcome.Applied, shard.Apply(partition, ++batchEnd, deltas));
            }
        }

        static string Sums(IEnumerable<KeyValuePair<string, long>> row) => string.Join(",", row.Where(e => e.Value != 0).OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));

        Batches(9);
        foreach (var item in items)
        {
            var read = shard.Find(item)!.GetCooccurrence(100);
            Assert.Equal(Sums(expected[item].Row), Sums(read.Neighbors.Select(n => KeyValuePair.Create(n.ItemId, n.Count))));
            Assert.Equal(Sums(expected[item].Next), Sums(read.NextNeighbors!.Select(n => KeyValuePair.Create(n.ItemId, n.Count))));
        }

        Assert.Equal(items.Sum(i => shard.Find(i)!.HeapBytes), shard.HeapBytes);

        Batches(12);
        var write = shard.TakeWrite();
        Assert.Equal(items.Sum(i => shard.Find(i)!.HeapBytes), shard.HeapBytes);
        Assert.Equal(items.Order(StringComparer.Ordinal), write.Items.Select(w => w.ItemId).Order(StringComparer.Ordinal)); // first stored: whole
        foreach (var (itemId, payload) in write.Items)
        {
            var stored = ItemGrainStateCodec.Decode(payload);
            Assert.Equal(Sums(expected[itemId].Row), Sums(stored.RowItems.Zip(stored.RowCounts, KeyValuePair.Create)));
            Assert.Equal(Sums(expected[itemId].Purchases), Sums(stored.PurchaseItems.Zip(stored.PurchaseCounts, KeyValuePair.Create)));
            Assert.Equal(Sums(expected[itemId].Next), Sums(stored.NextItems.Zip(stored.NextCounts, KeyValuePair.Create)));
        }
    }

    [Fact]
    public void An_item_side_named_by_numbers_is_stored_in_the_bytes_its_ids_give_and_mixed_sides_decode_alike()
    {
        // Two drains of a combiner, encoded one after the other on this thread (the positions by number are kept per
        // thread and must start empty each time): the same bytes as the deltas without their numbers. A side mixing
        // numbered and bare deltas (the same ids in other objects) decodes to the same rows.
        var ids = new ItemIdTable();
        var combiner = new DeltaCombiner(ids);
        var random = new Random(3);
        for (var drain = 0; drain < 2; drain++)
        {
            for (var k = 0; k < 2_000; k++)
            {
                var (item, other) = (ids.Intern($"i{random.Next(300)}"), ids.Intern($"i{random.Next(300)}"));
                combiner.AddCooccurrence(item, other, 1);
                if (k % 7 == 0)
                {
                    combiner.AddPurchaseCooccurrence(item, other, 2);
                    combiner.AddNext(other, item, 3);
                }
            }

            var side = combiner.Drain();
            Assert.All(side, d => Assert.NotNull(d.Numbers));
            var bare = side.Select(d => d with { Numbers = null }).ToList();
            Assert.Equal(ItemDeltaCodec.Encode(bare), ItemDeltaCodec.Encode(side));

            var mixed = side.Select((d, i) => i % 2 == 0 ? d : Rebuilt(d)).ToList();
            var expected = ItemDeltaCodec.Decode(ItemDeltaCodec.Encode(bare));
            var actual = ItemDeltaCodec.Decode(ItemDeltaCodec.Encode(mixed));
            Assert.Equal(expected.Select(d => $"{d.ItemId} {d.Count} {Text(d.Row())} {d.PurchaseCount} {string.Join(',', d.PurchaseOthers ?? [])} {string.Join(',', d.NextOthers ?? [])}"),
                actual.Select(d => $"{d.ItemId} {d.Count} {Text(d.Row())} {d.PurchaseCount} {string.Join(',', d.PurchaseOthers ?? [])} {string.Join(',', d.NextOthers ?? [])}"));
        }

        // Its ids in new string objects, without numbers: named by object, apart from the numbered deltas' ids.
        static ItemDelta Rebuilt(ItemDelta d) => d with
        {
            ItemId = new string(d.ItemId.AsSpan()),
            Others = [.. d.Others.Select(o => new string(o.AsSpan()))],
            Numbers = null,
        };

        static string Text(Dictionary<string, long> row) => string.Join(',', row.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));
    }

    private static string Describe(ItemCooccurrence c) =>
        $"{c.ItemId} {c.Count} {c.RowLength} {string.Join(",", c.Neighbors.Select(n => $"{n.ItemId}={n.Count}"))} {c.PurchaseCount} {c.PurchaseRowLength} {string.Join(",", (c.PurchaseNeighbors ?? []).Select(n => $"{n.ItemId}={n.Count}"))}";

    [Fact]
    public void An_item_side_names_ids_by_object_and_still_decodes_equal_ids_in_different_objects_to_the_same_rows()
    {
        // The table is keyed by the string object (the ids of a batch come from one ItemIdTable): the same id built
        // twice is two entries of the table, and every row still reads back with the id it named.
        var first = new string("sku-7".AsSpan());
        var second = new string("sku-7".AsSpan());
        Assert.NotSame(first, second);
        ItemDelta[] side =
        [
            Deltas.Of("a", 1, new() { [first] = 2 }),
            Deltas.Of("b", 1, new() { [second] = 3 }),
            Deltas.Of(new string("sku-7".AsSpan()), 4, new() { ["a"] = 5 }),
        ];
        var back = ItemDeltaCodec.Decode(ItemDeltaCodec.Encode(side));
        Assert.Equal(3, back.Length);
        Assert.Equal([KeyValuePair.Create("sku-7", 2L)], back[0].Row());
        Assert.Equal([KeyValuePair.Create("sku-7", 3L)], back[1].Row());
        Assert.Equal(("sku-7", 4L), (back[2].ItemId, back[2].Count));

        // One object named by many rows is still written once.
        var shared = new string("sku-8".AsSpan());
        var encoded = ItemDeltaCodec.Encode([.. Enumerable.Range(0, 20).Select(i => Deltas.Of($"i{i}", 1, new() { [shared] = i + 1 }))]);
        Assert.Equal(1, Occurrences(encoded, System.Text.Encoding.UTF8.GetBytes(shared)));
    }

    [Theory]
    [InlineData("sku-123", 1)]
    [InlineData(42, 1)] // 42 three-byte characters: 126 bytes, the longest the one-pass path writes
    [InlineData(43, 2)] // 129 bytes: the general path, a two-byte length
    [InlineData(-21, 1)] // 21 characters outside the BMP: 42 UTF-16 units, 84 bytes
    [InlineData(-40, 2)] // 80 UTF-16 units, 160 bytes
    public void An_id_is_stored_as_its_utf8_length_and_bytes_whatever_its_length_and_characters(object id, int lengthBytes)
    {
        var text = id switch
        {
            string s => s,
            int n when n > 0 => string.Concat(Enumerable.Repeat("€", n)),
            int n => string.Concat(Enumerable.Repeat("😀", -n)),
            _ => throw new ArgumentException("an id or a count", nameof(id)),
        };
        var utf8 = System.Text.Encoding.UTF8.GetBytes(text);
        var length = new List<byte>();
        for (var rest = (uint)utf8.Length; ; rest >>= 7)
        {
            length.Add((byte)(rest >= 0x80 ? (rest & 0x7F) | 0x80 : rest));
            if (rest < 0x80)
            {
                break;
            }
        }

        Assert.Equal(lengthBytes, length.Count);
        var encoded = ItemDeltaCodec.Encode([Deltas.Of("x", 1, new() { [text] = 1 })]);
        Assert.Equal(1, Occurrences(encoded, [.. length, .. utf8]));
        Assert.Equal(text, ItemDeltaCodec.Decode(encoded).Single().Others.Single());
    }

    private static int Occurrences(byte[] haystack, byte[] needle)
    {
        var found = 0;
        for (var at = haystack.AsSpan().IndexOf(needle); at >= 0; at = haystack.AsSpan(at + 1).IndexOf(needle) is var next and >= 0 ? at + 1 + next : -1)
        {
            found++;
        }

        return found;
    }
}
