namespace RecoCluster.Grains.Model;

/// <summary>
/// The stored form of an item (<c>reco_item.payload</c>): a version byte, the counts, each row as (UTF-8 id,
/// varint count) pairs, and the vector as raw floats.
/// </summary>
/// <remarks>
/// Written by hand rather than with Orleans' serializer, which tracks every string it writes for back-references:
/// a dictionary entry per row entry, the ingest's largest allocation when item states went through it (329 MB of
/// 3.8 GB sampled over a 200,000-event run, docs/benchmarks.md), for rows whose ids are all distinct anyway. A new
/// field means a new version byte, read beside the old ones.
/// </remarks>
public static class ItemGrainStateCodec
{
    private const byte Version1 = 1;

    /// <summary>The state's bytes.</summary>
    public static byte[] Encode(ItemGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var w = StateWriter.Rent();
        w.Byte(Version1);
        w.Count(state.Count);
        w.Count(state.PurchaseCount);
        Row(w, state.RowItems, state.RowCounts);
        Row(w, state.PurchaseItems, state.PurchaseCounts);
        w.Floats(state.Factors);
        return w.Written.ToArray();
    }

    public static ItemGrainState Decode(ReadOnlySpan<byte> payload)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version != Version1)
        {
            throw new InvalidDataException($"stored item state has version {version}; this silo reads version {Version1}");
        }

        var state = new ItemGrainState { Count = r.Count(), PurchaseCount = r.Count() };
        (state.RowItems, state.RowCounts) = Row(ref r);
        (state.PurchaseItems, state.PurchaseCounts) = Row(ref r);
        state.Factors = r.Floats();
        return r.End ? state : throw new InvalidDataException("stored item state has bytes after its end");
    }

    private static void Row(StateWriter w, string[] items, long[] counts)
    {
        if (items.Length != counts.Length)
        {
            throw new InvalidDataException($"a row's items and counts differ in length ({items.Length} and {counts.Length})");
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
