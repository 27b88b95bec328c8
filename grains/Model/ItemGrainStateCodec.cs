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
        w.Row(state.RowItems, state.RowCounts);
        w.Row(state.PurchaseItems, state.PurchaseCounts);
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
        (state.RowItems, state.RowCounts) = r.Row();
        (state.PurchaseItems, state.PurchaseCounts) = r.Row();
        state.Factors = r.Floats();
        return r.End ? state : throw new InvalidDataException("stored item state has bytes after its end");
    }
}
