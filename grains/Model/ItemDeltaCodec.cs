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

    public static byte[] Encode(IReadOnlyList<ItemDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var positions = t_positions ??= new Dictionary<string, int>(SameObject.Instance);
        positions.Clear();
        var table = new List<string>();
        foreach (var d in deltas)
        {
            Name(d.ItemId);
            NameAll(d.Others);
            NameAll(d.PurchaseOthers);
            NameAll(d.NextOthers);
        }

        var w = StateWriter.Rent();
        w.Byte(Version3);
        w.VarUInt((ulong)table.Count);
        foreach (var id in table)
        {
            w.String(id);
        }

        w.VarUInt((ulong)deltas.Count);
        foreach (var d in deltas)
        {
            w.VarUInt((ulong)positions[d.ItemId]);
            w.Count(d.Count);
            Row(d.Others, d.OtherCounts);
            w.Count(d.PurchaseCount);
            Row(d.PurchaseOthers, d.PurchaseOtherCounts);
            w.Floats(d.FactorDelta);
            Row(d.NextOthers, d.NextOtherCounts);
        }

        positions.Clear();
        return w.Written.ToArray();

        void Name(string id)
        {
            ref var position = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(positions, id, out var exists);
            if (!exists)
            {
                position = table.Count;
                table.Add(id);
            }
        }

        void NameAll(string[]? ids)
        {
            foreach (var id in ids ?? [])
            {
                Name(id);
            }
        }

        void Row(string[]? items, long[]? counts)
        {
            items ??= [];
            counts ??= [];
            if (items.Length != counts.Length)
            {
                throw new InvalidDataException($"a row's items and counts differ in length ({items.Length} and {counts.Length})");
            }

            w.VarUInt((ulong)items.Length);
            var span = w.Reserve(items.Length * 2 * StateWriter.MaxVarUIntBytes);
            var at = 0;
            for (var i = 0; i < items.Length; i++)
            {
                StateWriter.Put(span, ref at, (ulong)positions[items[i]]);
                StateWriter.PutCount(span, ref at, counts[i]);
            }

            w.Advance(at);
        }
    }

    public static ItemDelta[] Decode(ReadOnlySpan<byte> payload)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version is not (Version1 or Version2 or Version3))
        {
            throw new InvalidDataException($"stored item side has version {version}; this silo reads versions {Version1} to {Version3}");
        }

        string[]? table = null;
        if (version >= Version3)
        {
            table = new string[r.Length(bytesEach: 1)];
            for (var i = 0; i < table.Length; i++)
            {
                table[i] = r.String();
            }
        }

        var deltas = new ItemDelta[r.Length(bytesEach: 4)];
        for (var i = 0; i < deltas.Length; i++)
        {
            var itemId = table is null ? r.String() : Named(ref r, table);
            var count = r.Count();
            var (others, otherCounts) = Row(ref r, table);
            var purchaseCount = r.Count();
            var (purchaseOthers, purchaseCounts) = Row(ref r, table);
            var factorDelta = r.Floats();
            var (nextOthers, nextCounts) = version >= Version2 ? Row(ref r, table) : ([], []);
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
                nextOthers.Length == 0 ? null : nextCounts);
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

    private static string Named(ref StateReader r, string[] table)
    {
        var position = r.VarUInt();
        return position < (ulong)table.Length ? table[(int)position] : throw new InvalidDataException($"stored item side names id {position} of a table of {table.Length}");
    }

    private static (string[] Items, long[] Counts) Row(ref StateReader r, string[]? table)
    {
        if (table is null)
        {
            return r.Row();
        }

        var length = r.Length(bytesEach: 2);
        var items = new string[length];
        var counts = new long[length];
        for (var i = 0; i < length; i++)
        {
            items[i] = Named(ref r, table);
            counts[i] = r.Count();
        }

        return (items, counts);
    }
}
