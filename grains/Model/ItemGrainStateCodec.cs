using System.Buffers;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.WireProtocol;

namespace RecoCluster.Grains.Model;

/// <summary>
/// Orleans' codec for <see cref="ItemGrainState"/>, written by hand: a version byte, the counts, each row as
/// (UTF-8 id, varint count) pairs, and the vector as raw floats.
/// </summary>
/// <remarks>
/// Why by hand: the generated codec tracks every string it writes for back-references, which cost a dictionary
/// entry per row entry; it was the ingest's largest allocation (329 MB of 3.8 GB sampled over a 200,000-event
/// run, docs/benchmarks.md), for rows whose ids are all distinct anyway. A new field means a new version byte, read
/// beside the old ones.
/// </remarks>
[RegisterSerializer]
public sealed class ItemGrainStateCodec : IFieldCodec<ItemGrainState>
{
    private const byte Version1 = 1;

    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, ItemGrainState? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        if (ReferenceCodec.TryWriteReferenceField(ref writer, fieldIdDelta, expectedType, value))
        {
            return;
        }

        writer.WriteFieldHeader(fieldIdDelta, expectedType, typeof(ItemGrainState), WireType.LengthPrefixed);
        var encoded = Encode(value!);
        writer.WriteVarUInt32((uint)encoded.Length);
        writer.Write(encoded);
    }

    public ItemGrainState? ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference)
        {
            return ReferenceCodec.ReadReference<ItemGrainState, TInput>(ref reader, field);
        }

        field.EnsureWireType(WireType.LengthPrefixed);
        var length = (int)reader.ReadVarUInt32();
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            reader.ReadBytes(buffer.AsSpan(0, length));
            var result = Decode(buffer.AsSpan(0, length));
            ReferenceCodec.RecordObject(reader.Session, result);
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The state's bytes, valid until the thread encodes another state.</summary>
    public static ReadOnlySpan<byte> Encode(ItemGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var w = StateWriter.Rent();
        w.Byte(Version1);
        w.Count(state.Count);
        w.Count(state.PurchaseCount);
        Row(w, state.RowItems, state.RowCounts);
        Row(w, state.PurchaseItems, state.PurchaseCounts);
        w.Floats(state.Factors);
        return w.Written;
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

/// <summary>Deep copies of <see cref="ItemGrainState"/>, which Orleans needs beside its codec.</summary>
[RegisterCopier]
public sealed class ItemGrainStateCopier : IDeepCopier<ItemGrainState>
{
    public ItemGrainState? DeepCopy(ItemGrainState? input, CopyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (input is null)
        {
            return null;
        }

        if (context.TryGetCopy<ItemGrainState>(input, out var copy))
        {
            return copy!;
        }

        copy = new ItemGrainState
        {
            Count = input.Count,
            RowItems = (string[])input.RowItems.Clone(),
            RowCounts = (long[])input.RowCounts.Clone(),
            PurchaseCount = input.PurchaseCount,
            PurchaseItems = (string[])input.PurchaseItems.Clone(),
            PurchaseCounts = (long[])input.PurchaseCounts.Clone(),
            Factors = (float[]?)input.Factors?.Clone(),
        };
        context.RecordCopy(input, copy);
        return copy;
    }
}
