using RecoCluster.Grains.Interfaces;

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

    // Version 3 has version 2's layout. It says that the item may have changes in reco_item_log, which a silo that
    // reads versions 1 and 2 only would not know to add: such a silo refuses the item, naming its version, instead of
    // serving and extending counts that miss them.
    private const byte Version3 = 3;

    /// <summary>The state's bytes, in the current version.</summary>
    public static byte[] Encode(ItemGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var w = StateWriter.Rent();
        w.Byte(Version3);
        w.Count(state.Count);
        w.Count(state.PurchaseCount);
        w.Row(state.RowItems, state.RowCounts);
        w.Row(state.PurchaseItems, state.PurchaseCounts);
        w.Floats(state.Factors);
        w.Row(state.NextItems, state.NextCounts);
        return w.Written.ToArray();
    }

    /// <summary>The model's state, in the current version: the bytes of <c>Encode(model.ToState())</c>, written
    /// from the model's rows without building the state's arrays first.</summary>
    public static byte[] Encode(ItemModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var w = StateWriter.Rent();
        w.Byte(Version3);
        w.Count(model.Count);
        w.Count(model.PurchaseCount);
        w.Row(model.Row, model.Ids);
        w.Row(model.PurchaseRow, model.Ids);
        w.Floats(model.Factors);
        w.Row(model.NextRow, model.Ids);
        return w.Written.ToArray();
    }

    /// <summary>A change, in the current version: the sums of <paramref name="deltas"/>' counts, their row entries
    /// one after the other (an id may repeat), and <paramref name="factors"/> (the item's vector now; null when the
    /// deltas did not move it). Read back with <see cref="Decode"/> and added with <see cref="ItemGrainState.Add"/>.</summary>
    /// <param name="deltas">The deltas applied to the item since it was last stored.</param>
    /// <param name="factors">The item's vector now; null when the deltas did not move it.</param>
    /// <param name="ids">The silo's item id table: the ids of deltas it numbered are copied from it in UTF-8 rather
    /// than encoded again (null: every id encoded).</param>
    public static byte[] EncodeChange(IReadOnlyList<ItemDelta> deltas, float[]? factors, ItemIdTable? ids = null)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var w = StateWriter.Rent();
        w.Byte(Version3);
        long count = 0, purchases = 0;
        foreach (var delta in deltas)
        {
            count += delta.Count;
            purchases += delta.PurchaseCount;
        }

        w.Count(count);
        w.Count(purchases);
        w.Rows(deltas, static d => (d.Others, d.Numbers?.Others, d.OtherCounts), ids);
        w.Rows(deltas, static d => (d.PurchaseOthers, d.Numbers?.PurchaseOthers, d.PurchaseOtherCounts), ids);
        w.Floats(factors);
        w.Rows(deltas, static d => (d.NextOthers, d.Numbers?.NextOthers, d.NextOtherCounts), ids);
        return w.Written.ToArray();
    }

    public static ItemGrainState Decode(ReadOnlySpan<byte> payload)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version is not (Version1 or Version2 or Version3))
        {
            throw new InvalidDataException($"stored item state has version {version}; this silo reads versions {Version1} to {Version3}");
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
