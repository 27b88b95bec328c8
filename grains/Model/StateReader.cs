using System.Buffers.Binary;
using System.Text;

namespace RecoCluster.Grains.Model;

/// <summary>Reads what <see cref="StateWriter"/> wrote. Every read checks its bounds: a truncated or foreign payload
/// fails with <see cref="InvalidDataException"/>, never with a wrong state.</summary>
internal ref struct StateReader(ReadOnlySpan<byte> payload)
{
    private readonly ReadOnlySpan<byte> _payload = payload;
    private int _at;

    public readonly bool End => _at == _payload.Length;

    public byte Byte() => _at < _payload.Length ? _payload[_at++] : throw Truncated();

    public ulong VarUInt()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = Byte();
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException("a varint runs past 64 bits");
    }

    public long VarInt()
    {
        var zigzag = VarUInt();
        return (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
    }

    public long Count()
    {
        var value = VarUInt();
        return value <= long.MaxValue ? (long)value : throw new InvalidDataException($"a count of {value} is out of range");
    }

    /// <summary>A length that must fit in what is left, at <paramref name="bytesEach"/> bytes per element at least.</summary>
    public int Length(int bytesEach = 1)
    {
        var value = VarUInt();
        return value <= (ulong)((_payload.Length - _at) / Math.Max(1, bytesEach)) ? (int)value : throw Truncated();
    }

    public string String()
    {
        var length = Length();
        var value = Encoding.UTF8.GetString(_payload.Slice(_at, length));
        _at += length;
        return value;
    }

    /// <summary>A row written by <see cref="StateWriter.Row(string[], long[])"/>.</summary>
    public (string[] Items, long[] Counts) Row()
    {
        var length = Length(bytesEach: 2);
        var items = new string[length];
        var counts = new long[length];
        for (var i = 0; i < length; i++)
        {
            items[i] = String();
            counts[i] = Count();
        }

        return (items, counts);
    }

    public float[]? Floats()
    {
        var length = VarUInt();
        if (length == 0)
        {
            return null;
        }

        if (length - 1 > (ulong)((_payload.Length - _at) / sizeof(float)))
        {
            throw Truncated();
        }

        var values = new float[(int)(length - 1)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(_payload.Slice(_at + (i * sizeof(float)), sizeof(float)));
        }

        _at += values.Length * sizeof(float);
        return values;
    }

    public Half[]? Halves()
    {
        var length = VarUInt();
        if (length == 0)
        {
            return null;
        }

        if (length - 1 > (ulong)((_payload.Length - _at) / 2))
        {
            throw Truncated();
        }

        var values = new Half[(int)(length - 1)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadHalfLittleEndian(_payload.Slice(_at + (i * 2), 2));
        }

        _at += values.Length * 2;
        return values;
    }

    private static InvalidDataException Truncated() => new("a stored state ends early: it is truncated or not a state");
}
