using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// The stored form of a batch's item side (<c>reco_ingress.pending_item_side</c>): the deltas of every item the
/// batch touched. Written by hand for the reason <see cref="ItemGrainStateCodec"/> gives.
/// </summary>
/// <remarks>
/// Version 3 writes every id once, in a table at the start, and each delta's item and row entries as their
/// positions in it: a batch names a few thousand items in hundreds of thousands of row entries, and with each id in
/// UTF-8 at every entry (versions 1 and 2) this was most of what a batch stored (2.2 MB of item side against 0.4 MB
/// of users for 20,000 events, docs/benchmarks.md). Version 2 added each delta's sequential row; version 1 reads
/// with none. Batches stored in versions 1 and 2 (before an upgrade) still read.
/// </remarks>
public static class ItemDeltaCodec
{
    private const byte Version1 = 1;
    private const byte Version2 = 2;
    private const byte Version3 = 3;

    // Each id's position in the table being written; reused by the thread, as the writer is. Keyed by the string
    // object, not its characters: a batch's ids come from its silo's ItemIdTable (or from one decoded table), one
    // object per id, so looking a row entry up costs no hashing or comparing of characters, once per entry. Two
    // equal ids in different objects would each get a place in the table and still decode to the same id.
    [ThreadStatic]
    private static Dictionary<string, int>? t_positions;

    // The same for ids named by their numbers (ItemDelta.Numbers, the deltas an ingress drains): position + 1 by
    // number, 0 for none, an array indexing by number instead of a dictionary hashing each entry. Reset after use
    // by the numbers named, so a batch pays for its own ids, not for the table's size.
    [ThreadStatic]
    private static int[]? t_numberPositions;

    public static byte[] Encode(IReadOnlyList<ItemDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var positions = t_positions ??= new Dictionary<string, int>(SameObject.Instance);
        positions.Clear();

        // The deltas numbered by one table (every delta of a drain is numbered by its silo's); any other delta's ids
        // are named by object.
        ItemIdTable? numbering = null;
        foreach (var d in deltas)
        {
            if (d.Numbers?.Table is ItemIdTable t)
            {
                numbering = t;
                break;
            }
        }

        var byNumber = numbering is null ? [] : NumberPositions(numbering.Count);
        var table = new List<(string? Id, int Number)>();
        var w = StateWriter.Rent();
        try
        {
            foreach (var d in deltas)
            {
                if (NumbersOf(d) is { } n)
                {
                    NameNumber(n.Item);
                    NameNumbers(n.Others);
                    NameNumbers(n.PurchaseOthers);
                    NameNumbers(n.NextOthers);
                }
                else
                {
                    Name(d.ItemId);
                    NameAll(d.Others);
                    NameAll(d.PurchaseOthers);
                    NameAll(d.NextOthers);
                }
            }

            w.Byte(Version3);
            w.VarUInt((ulong)table.Count);
            foreach (var (id, number) in table)
            {
                if (id is null)
                {
                    w.Utf8(numbering!.Utf8(number));
                }
                else
                {
                    w.String(id);
                }
            }

            w.VarUInt((ulong)deltas.Count);
            foreach (var d in deltas)
            {
                var n = NumbersOf(d);
                w.VarUInt((ulong)(n is null ? positions[d.ItemId] : byNumber[n.Item] - 1));
                w.Count(d.Count);
                Row(d.Others, n?.Others, d.OtherCounts);
                w.Count(d.PurchaseCount);
                Row(d.PurchaseOthers, n?.PurchaseOthers, d.PurchaseOtherCounts);
                w.Floats(d.FactorDelta);
                Row(d.NextOthers, n?.NextOthers, d.NextOtherCounts);
            }

            return w.Written.ToArray();
        }
        finally
        {
            positions.Clear();
            foreach (var (id, number) in table)
            {
                if (id is null)
                {
                    byNumber[number] = 0;
                }
            }
        }

        ItemDeltaNumbers? NumbersOf(ItemDelta d) => numbering is not null && d.Numbers is { } n && ReferenceEquals(n.Table, numbering) ? n : null;

        void Name(string id)
        {
            ref var position = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(positions, id, out var exists);
            if (!exists)
            {
                position = table.Count;
                table.Add((id, -1));
            }
        }

        void NameAll(string[]? ids)
        {
            foreach (var id in ids ?? [])
            {
                Name(id);
            }
        }

        void NameNumber(int number)
        {
            if (byNumber[number] == 0)
            {
                table.Add((null, number));
                byNumber[number] = table.Count;
            }
        }

        void NameNumbers(int[]? numbers)
        {
            foreach (var number in numbers ?? [])
            {
                NameNumber(number);
            }
        }

        void Row(string[]? items, int[]? numbers, long[]? counts)
        {
            items ??= [];
            counts ??= [];
            if (items.Length != counts.Length || (numbers is not null && numbers.Length != items.Length))
            {
                throw new InvalidDataException($"a row's items, numbers and counts differ in length ({items.Length}, {numbers?.Length} and {counts.Length})");
            }

            w.VarUInt((ulong)items.Length);
            var span = w.Reserve(items.Length * 2 * StateWriter.MaxVarUIntBytes);
            var at = 0;
            for (var i = 0; i < items.Length; i++)
            {
                var position = numbers is null ? positions[items[i]] : byNumber[numbers[i]] - 1;
                StateWriter.Put(span, ref at, (ulong)position);
                StateWriter.PutCount(span, ref at, counts[i]);
            }

            w.Advance(at);
        }
    }

    // The thread's positions by number, long enough for a table of `count` ids, every entry 0.
    private static int[] NumberPositions(int count)
    {
        var positions = t_numberPositions;
        if (positions is null || positions.Length < count)
        {
            t_numberPositions = positions = new int[Math.Max(count, Math.Max(1024, (positions?.Length ?? 0) * 2))];
        }

        return positions;
    }

    /// <param name="payload">What <see cref="Encode"/> wrote (any version).</param>
    /// <param name="ids">The silo's item id table: when given, each id of a version 3 table is looked up in it once,
    /// and the deltas carry its numbers (<see cref="ItemDelta.Numbers"/>), so that a shard adds them without a
    /// lookup per row entry. Null: ids only.</param>
    public static ItemDelta[] Decode(ReadOnlySpan<byte> payload, ItemIdTable? ids = null)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version is not (Version1 or Version2 or Version3))
        {
            throw new InvalidDataException($"stored item side has version {version}; this silo reads versions {Version1} to {Version3}");
        }

        string[]? table = null;
        int[]? tableNumbers = null;
        if (version >= Version3)
        {
            table = new string[r.Length(bytesEach: 1)];
            for (var i = 0; i < table.Length; i++)
            {
                table[i] = r.String();
            }

            if (ids is not null)
            {
                tableNumbers = new int[table.Length];
                for (var i = 0; i < table.Length; i++)
                {
                    tableNumbers[i] = ids.Intern(table[i]);
                }
            }
        }

        var deltas = new ItemDelta[r.Length(bytesEach: 4)];
        for (var i = 0; i < deltas.Length; i++)
        {
            var itemPosition = table is null ? -1 : Position(ref r, table);
            var itemId = table is null ? r.String() : table[itemPosition];
            var count = r.Count();
            var (others, otherNumbers, otherCounts) = Row(ref r, table, tableNumbers);
            var purchaseCount = r.Count();
            var (purchaseOthers, purchaseNumbers, purchaseCounts) = Row(ref r, table, tableNumbers);
            var factorDelta = r.Floats();
            var (nextOthers, nextNumbers, nextCounts) = version >= Version2 ? Row(ref r, table, tableNumbers) : ([], null, []);
            deltas[i] = new ItemDelta(
                itemId,
                count,
                others,
                otherCounts,
                purchaseCount,
                purchaseOthers.Length == 0 ? null : purchaseOthers,
                purchaseOthers.Length == 0 ? null : purchaseCounts,
                factorDelta,
                nextOthers.Length == 0 ? null : nextOthers,
                nextOthers.Length == 0 ? null : nextCounts)
            {
                Numbers = tableNumbers is null
                    ? null
                    : new ItemDeltaNumbers(ids!, tableNumbers[itemPosition], otherNumbers!, purchaseOthers.Length == 0 ? null : purchaseNumbers, nextOthers.Length == 0 ? null : nextNumbers),
            };
        }

        return r.End ? deltas : throw new InvalidDataException("stored item side has bytes after its end");
    }

    // Equality of string objects, for the table's positions.
    private sealed class SameObject : IEqualityComparer<string>
    {
        public static readonly SameObject Instance = new();

        public bool Equals(string? x, string? y) => ReferenceEquals(x, y);

        public int GetHashCode(string obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }

    private static int Position(ref StateReader r, string[] table)
    {
        var position = r.VarUInt();
        return position < (ulong)table.Length ? (int)position : throw new InvalidDataException($"stored item side names id {position} of a table of {table.Length}");
    }

    // A row's ids, and their numbers when the table's are known (null otherwise), and its counts.
    private static (string[] Items, int[]? Numbers, long[] Counts) Row(ref StateReader r, string[]? table, int[]? tableNumbers)
    {
        if (table is null)
        {
            var (ids, rowCounts) = r.Row();
            return (ids, null, rowCounts);
        }

        var length = r.Length(bytesEach: 2);
        var items = new string[length];
        var numbers = tableNumbers is null ? null : new int[length];
        var counts = new long[length];
        for (var i = 0; i < length; i++)
        {
            var position = Position(ref r, table);
            items[i] = table[position];
            if (numbers is not null)
            {
                numbers[i] = tableNumbers![position];
            }

            counts[i] = r.Count();
        }

        return (items, numbers, counts);
    }
}
