using System.Buffers;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.WireProtocol;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// Orleans' codec for <see cref="UserGrainState"/>, written by hand for the reason <see cref="ItemGrainStateCodec"/>
/// gives: a version byte, the window entries (UTF-8 id, type, timestamp, interactions, purchased mark), the counts,
/// the daily cap and the vector.
/// </summary>
[RegisterSerializer]
public sealed class UserGrainStateCodec : IFieldCodec<UserGrainState>
{
    private const byte Version1 = 1;

    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, UserGrainState? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        if (ReferenceCodec.TryWriteReferenceField(ref writer, fieldIdDelta, expectedType, value))
        {
            return;
        }

        writer.WriteFieldHeader(fieldIdDelta, expectedType, typeof(UserGrainState), WireType.LengthPrefixed);
        var encoded = Encode(value!);
        writer.WriteVarUInt32((uint)encoded.Length);
        writer.Write(encoded);
    }

    public UserGrainState? ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference)
        {
            return ReferenceCodec.ReadReference<UserGrainState, TInput>(ref reader, field);
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
    public static ReadOnlySpan<byte> Encode(UserGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var w = StateWriter.Rent();
        w.Byte(Version1);
        w.VarUInt((ulong)state.Recent.Length);
        foreach (var entry in state.Recent)
        {
            w.String(entry.ItemId);
            w.Byte((byte)entry.LastType);
            w.VarInt(entry.LastSeenMs);
            w.Count(entry.Interactions);
            w.Byte(entry.Purchased ? (byte)1 : (byte)0);
        }

        w.VarUInt((ulong)state.Counts.Length);
        foreach (var count in state.Counts)
        {
            w.Count(count);
        }

        w.VarInt(state.LastEventMs);
        w.VarInt(state.CapDay);
        w.Count(state.CapCount);
        w.Floats(state.Factors);
        return w.Written;
    }

    public static UserGrainState Decode(ReadOnlySpan<byte> payload)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version != Version1)
        {
            throw new InvalidDataException($"stored user state has version {version}; this silo reads version {Version1}");
        }

        var recent = new RecentItemState[r.Length(bytesEach: 5)];
        for (var i = 0; i < recent.Length; i++)
        {
            var itemId = r.String();
            var type = r.Byte();
            recent[i] = new RecentItemState
            {
                ItemId = itemId,
                LastType = type <= (byte)EventType.Purchase ? (EventType)type : throw new InvalidDataException($"stored user state has event type {type}"),
                LastSeenMs = r.VarInt(),
                Interactions = checked((int)r.Count()),
                Purchased = r.Byte() != 0,
            };
        }

        var counts = new long[r.Length()];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = r.Count();
        }

        var state = new UserGrainState
        {
            Recent = recent,
            Counts = counts,
            LastEventMs = r.VarInt(),
            CapDay = checked((int)r.VarInt()),
            CapCount = checked((int)r.Count()),
            Factors = r.Floats(),
        };
        return r.End ? state : throw new InvalidDataException("stored user state has bytes after its end");
    }
}

/// <summary>Deep copies of <see cref="UserGrainState"/>, which Orleans needs beside its codec.</summary>
[RegisterCopier]
public sealed class UserGrainStateCopier : IDeepCopier<UserGrainState>
{
    public UserGrainState? DeepCopy(UserGrainState? input, CopyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (input is null)
        {
            return null;
        }

        if (context.TryGetCopy<UserGrainState>(input, out var copy))
        {
            return copy!;
        }

        copy = new UserGrainState
        {
            Recent = (RecentItemState[])input.Recent.Clone(),
            Counts = (long[])input.Counts.Clone(),
            LastEventMs = input.LastEventMs,
            CapDay = input.CapDay,
            CapCount = input.CapCount,
            Factors = (float[]?)input.Factors?.Clone(),
        };
        context.RecordCopy(input, copy);
        return copy;
    }
}
