namespace RecoCluster.Grains.Model;

/// <summary>The stored form of an item shard's watermarks (<c>reco_item_shard.watermarks</c>): per events partition,
/// the end of the last batch the shard stored, as varint pairs.</summary>
public static class WatermarksCodec
{
    private const byte Version1 = 1;

    public static byte[] Encode(IReadOnlyDictionary<int, long> watermarks)
    {
        ArgumentNullException.ThrowIfNull(watermarks);
        var w = StateWriter.Rent();
        w.Byte(Version1);
        w.VarUInt((ulong)watermarks.Count);
        foreach (var (partition, end) in watermarks.OrderBy(p => p.Key))
        {
            w.Count(partition);
            w.VarInt(end);
        }

        return w.Written.ToArray();
    }

    public static Dictionary<int, long> Decode(ReadOnlySpan<byte> payload)
    {
        var r = new StateReader(payload);
        var version = r.Byte();
        if (version != Version1)
        {
            throw new InvalidDataException($"stored watermarks have version {version}; this silo reads version {Version1}");
        }

        var count = r.Length(bytesEach: 2);
        var watermarks = new Dictionary<int, long>(count);
        for (var i = 0; i < count; i++)
        {
            watermarks[checked((int)r.Count())] = r.VarInt();
        }

        return r.End ? watermarks : throw new InvalidDataException("stored watermarks have bytes after their end");
    }
}
