namespace RecoCluster.Grains.Model;

/// <summary>
/// The stored form of an item (<c>reco_item.payload</c>): a version byte, the counts, each row as (UTF-8 id,
/// varint count) pairs, the vector as raw floats, and (version 2) the sequential row. Version 1, written before
/// sequential counts existed, reads as an item with an empty sequential row.
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
    private const byte Version2 = 2;

    /// <summary>The state's bytes, in the current version.</summary>
    public static byte[] Encode(ItemGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var w = StateWriter.Rent();
        w.Byte(Version2);
        w.Count(state.Count);
        w.Count(state.PurchaseCount);
        w.Row(state.RowItems, state.RowCounts);
        w.Row(state.PurchaseItems, state.PurchaseCounts);
        w.Floats(state.Factors);
        w.Row(state.NextItems, state.NextCounts);
        return w.Written.ToArray();
    }

    public static ItemGrainState Decode(ReadOnlySpan<byte> payload)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version is not (Version1 or Version2))
        {
            throw new InvalidDataException($"stored item state has version {version}; this silo reads versions {Version1} and {Version2}");
        }

        var state = new ItemGrainState { Count = r.Count(), PurchaseCount = r.Count() };
        (state.RowItems, state.RowCounts) = r.Row();
        (state.PurchaseItems, state.PurchaseCounts) = r.Row();
        state.Factors = r.Floats();
        if (version >= Version2)
        {
            (state.NextItems, state.NextCounts) = r.Row();
        }

        return r.End ? state : throw new InvalidDataException("stored item state has bytes after its end");
    }
}
