using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RecoCluster.Grains.Model;

/// <summary>
/// Writes the compact binary form of stored states (<see cref="ItemGrainStateCodec"/>,
/// <see cref="UserGrainStateCodec"/>, <see cref="ItemDeltaCodec"/>, <see cref="WatermarksCodec"/>): unsigned and zigzag varints, length-prefixed UTF-8 strings, raw little-endian
/// floats. One per thread, reused: a state is written whole, synchronously, then copied out.
/// </summary>
internal sealed class StateWriter
{
    [ThreadStatic]
    private static StateWriter? t_writer;

    // The longest string whose UTF-8 form (at most 3 bytes per UTF-16 unit) is sure to fit a one-byte length.
    private const int MaxOneByteLengthChars = 127 / 3;

    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    /// <summary>This thread's writer, emptied.</summary>
    public static StateWriter Rent()
    {
        var writer = t_writer ??= new StateWriter();
        writer._buffer.ResetWrittenCount();
        return writer;
    }

    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    public void Byte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    public void VarUInt(ulong value)
    {
        var span = _buffer.GetSpan(MaxVarUIntBytes);
        var i = 0;
        Put(span, ref i, value);
        _buffer.Advance(i);
    }

    /// <summary>Room for <paramref name="bytes"/> bytes, to fill with <see cref="Put"/> and end with
    /// <see cref="Advance"/>: a long run of varints written without a check of the buffer per value.</summary>
    public Span<byte> Reserve(int bytes) => _buffer.GetSpan(bytes);

    /// <summary>Ends a <see cref="Reserve"/> that wrote <paramref name="bytes"/> bytes.</summary>
    public void Advance(int bytes) => _buffer.Advance(bytes);

    /// <summary>The most bytes one <see cref="VarUInt"/> or <see cref="Put"/> takes.</summary>
    public const int MaxVarUIntBytes = 10;

    /// <summary>A varint at <paramref name="at"/> of a reserved span, in the form of <see cref="VarUInt"/>.</summary>
    public static void Put(Span<byte> span, ref int at, ulong value)
    {
        while (value >= 0x80)
        {
            span[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[at++] = (byte)value;
    }

    public void VarInt(long value) => VarUInt((ulong)((value << 1) ^ (value >> 63)));

    /// <summary>A count that is never negative (item counts, lengths).</summary>
    public void Count(long value) => VarUInt(CountBits(value));

    /// <summary>A <see cref="Count"/> at <paramref name="at"/> of a reserved span.</summary>
    public static void PutCount(Span<byte> span, ref int at, long value) => Put(span, ref at, CountBits(value));

    private static ulong CountBits(long value) =>
        value >= 0 ? (ulong)value : throw new InvalidDataException($"a count of {value} cannot be stored: counts are never negative");

    public void String(string value)
    {
        // Ids are short, and the item shards' writes call this once per row entry: one pass into the buffer with a
        // byte kept for the length, instead of counting the UTF-8 bytes and then converting. Up to 42 UTF-16 units
        // take at most 126 bytes in UTF-8, so the length is one varint byte, the value itself: the same bytes the
        // general path writes.
        if (value.Length <= MaxOneByteLengthChars)
        {
            var span = _buffer.GetSpan(1 + (value.Length * 3));
            var written = Encoding.UTF8.GetBytes(value, span[1..]);
            span[0] = (byte)written;
            _buffer.Advance(1 + written);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        VarUInt((ulong)length);
        Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length));
        _buffer.Advance(length);
    }

    /// <summary>A string already in UTF-8, in the form of <see cref="String"/>.</summary>
    public void Utf8(ReadOnlySpan<byte> value)
    {
        VarUInt((ulong)value.Length);
        _buffer.Write(value);
    }

    /// <summary>A count row (an item's co-occurrence or purchase row, or a delta's): its length, then each other
    /// item's id and count.</summary>
    public void Row(string[] items, long[] counts)
    {
        if (items.Length != counts.Length)
        {
            throw new InvalidDataException($"a row's items and counts differ in length ({items.Length} and {counts.Length})");
        }

        VarUInt((ulong)items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            String(items[i]);
            Count(counts[i]);
        }
    }

    /// <summary>A model's count row (null: empty) in the form of <see cref="Row(string[], long[])"/>, the ids
    /// taken from <paramref name="ids"/>.</summary>
    public void Row(CountRow? row, ItemIdTable ids)
    {
        if (row is null)
        {
            VarUInt(0);
            return;
        }

        var keys = row.Keys;
        VarUInt((ulong)keys.Length);
        for (var i = 0; i < keys.Length; i++)
        {
            Utf8(ids.Utf8(keys[i]));
            Count(row.CountAt(i));
        }
    }

    /// <summary>One row in the form of <see cref="Row(string[], long[])"/> holding the entries of every delta's row
    /// that <paramref name="pick"/> names (null: none), one delta's after another. Where a delta carries the numbers
    /// <paramref name="ids"/> gave its ids (<see cref="Interfaces.ItemDelta.Numbers"/>), each id is copied from the
    /// table in UTF-8 instead of encoded again: the same bytes.</summary>
    public void Rows(IReadOnlyList<Interfaces.ItemDelta> deltas, Func<Interfaces.ItemDelta, (string[]? Items, int[]? Numbers, long[]? Counts)> pick, ItemIdTable? ids = null)
    {
        var length = 0;
        foreach (var delta in deltas)
        {
            var (items, numbers, counts) = pick(delta);
            if ((items?.Length ?? 0) != (counts?.Length ?? 0) || (numbers is not null && numbers.Length != (items?.Length ?? 0)))
            {
                throw new InvalidDataException($"item {delta.ItemId}: a row's items, numbers and counts differ in length");
            }

            length += items?.Length ?? 0;
        }

        VarUInt((ulong)length);
        foreach (var delta in deltas)
        {
            var (items, numbers, counts) = pick(delta);
            if (ids is not null && numbers is not null && ReferenceEquals(delta.Numbers?.Table, ids))
            {
                for (var i = 0; i < numbers.Length; i++)
                {
                    Utf8(ids.Utf8(numbers[i]));
                    Count(counts![i]);
                }

                continue;
            }

            for (var i = 0; i < (items?.Length ?? 0); i++)
            {
                String(items![i]);
                Count(counts![i]);
            }
        }
    }

    /// <summary>A vector, or null: its length plus one (0 for null), then the floats.</summary>
    public void Floats(float[]? values)
    {
        if (values is null)
        {
            VarUInt(0);
            return;
        }

        VarUInt((ulong)values.Length + 1);
        var span = _buffer.GetSpan(values.Length * sizeof(float));
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(span[(i * sizeof(float))..], values[i]);
        }

        _buffer.Advance(values.Length * sizeof(float));
    }

    /// <summary>A half-precision vector, or null: its length plus one (0 for null), then the halves. In memory only
    /// (<see cref="PackedUser"/>): what is stored holds floats.</summary>
    public void Halves(Half[]? values)
    {
        if (values is null)
        {
            VarUInt(0);
            return;
        }

        VarUInt((ulong)values.Length + 1);
        var span = _buffer.GetSpan(values.Length * 2);
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(span[(i * 2)..], values[i]);
        }

        _buffer.Advance(values.Length * 2);
    }
}
