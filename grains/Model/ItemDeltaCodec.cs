using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// The stored form of a batch's item side (<c>reco_ingress.pending_item_side</c>): the deltas of every item the
/// batch touched, one after the other, each id in UTF-8 and each count a varint. Written by hand for the reason
/// <see cref="ItemGrainStateCodec"/> gives.
/// </summary>
public static class ItemDeltaCodec
{
    private const byte Version1 = 1;

    public static byte[] Encode(IReadOnlyList<ItemDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var w = StateWriter.Rent();
        w.Byte(Version1);
        w.VarUInt((ulong)deltas.Count);
        foreach (var d in deltas)
        {
            w.String(d.ItemId);
            w.Count(d.Count);
            Row(w, d.Others, d.OtherCounts);
            w.Count(d.PurchaseCount);
            Row(w, d.PurchaseOthers ?? [], d.PurchaseOtherCounts ?? []);
            w.Floats(d.FactorDelta);
        }

        return w.Written.ToArray();
    }

    public static ItemDelta[] Decode(ReadOnlySpan<byte> payload)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version != Version1)
        {
            throw new InvalidDataException($"stored item side has version {version}; this silo reads version {Version1}");
        }

        var deltas = new ItemDelta[r.Length(bytesEach: 4)];
        for (var i = 0; i < deltas.Length; i++)
        {
            var itemId = r.String();
            var count = r.Count();
            var (others, otherCounts) = Row(ref r);
            var purchaseCount = r.Count();
            var (purchaseOthers, purchaseCounts) = Row(ref r);
            deltas[i] = new ItemDelta(itemId, count, others, otherCounts, purchaseCount, purchaseOthers.Length == 0 ? null : purchaseOthers, purchaseOthers.Length == 0 ? null : purchaseCounts, r.Floats());
        }

        return r.End ? deltas : throw new InvalidDataException("stored item side has bytes after its end");
    }

    private static void Row(StateWriter w, string[] items, long[] counts)
    {
        if (items.Length != counts.Length)
        {
            throw new InvalidDataException($"a delta's items and counts differ in length ({items.Length} and {counts.Length})");
        }

        w.VarUInt((ulong)items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            w.String(items[i]);
            w.Count(counts[i]);
        }
    }

    private static (string[] Items, long[] Counts) Row(ref StateReader r)
    {
        var length = r.Length(bytesEach: 2);
        var items = new string[length];
        var counts = new long[length];
        for (var i = 0; i < length; i++)
        {
            items[i] = r.String();
            counts[i] = r.Count();
        }

        return (items, counts);
    }
}
