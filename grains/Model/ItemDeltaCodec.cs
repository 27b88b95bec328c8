using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// The stored form of a batch's item side (<c>reco_ingress.pending_item_side</c>): the deltas of every item the
/// batch touched, one after the other, each id in UTF-8 and each count a varint. Written by hand for the reason
/// <see cref="ItemGrainStateCodec"/> gives. Version 2 adds each delta's sequential row; a batch stored in version 1
/// (before an upgrade) reads with none.
/// </summary>
public static class ItemDeltaCodec
{
    private const byte Version1 = 1;
    private const byte Version2 = 2;

    public static byte[] Encode(IReadOnlyList<ItemDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var w = StateWriter.Rent();
        w.Byte(Version2);
        w.VarUInt((ulong)deltas.Count);
        foreach (var d in deltas)
        {
            w.String(d.ItemId);
            w.Count(d.Count);
            w.Row(d.Others, d.OtherCounts);
            w.Count(d.PurchaseCount);
            w.Row(d.PurchaseOthers ?? [], d.PurchaseOtherCounts ?? []);
            w.Floats(d.FactorDelta);
            w.Row(d.NextOthers ?? [], d.NextOtherCounts ?? []);
        }

        return w.Written.ToArray();
    }

    public static ItemDelta[] Decode(ReadOnlySpan<byte> payload)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version is not (Version1 or Version2))
        {
            throw new InvalidDataException($"stored item side has version {version}; this silo reads versions {Version1} and {Version2}");
        }

        var deltas = new ItemDelta[r.Length(bytesEach: 4)];
        for (var i = 0; i < deltas.Length; i++)
        {
            var itemId = r.String();
            var count = r.Count();
            var (others, otherCounts) = r.Row();
            var purchaseCount = r.Count();
            var (purchaseOthers, purchaseCounts) = r.Row();
            var factorDelta = r.Floats();
            var (nextOthers, nextCounts) = version >= Version2 ? r.Row() : ([], []);
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
}
