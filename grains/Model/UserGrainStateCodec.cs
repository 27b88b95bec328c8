using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// The stored form of a user (<c>reco_user.payload</c>), written by hand for the reason
/// <see cref="ItemGrainStateCodec"/> gives: a version byte, the window entries (UTF-8 id, type, timestamp,
/// interactions, purchased mark), the counts, the daily cap and the vector.
/// </summary>
public static class UserGrainStateCodec
{
    private const byte Version1 = 1;

    /// <summary>The state's bytes.</summary>
    public static byte[] Encode(UserGrainState state)
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
        return w.Written.ToArray();
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
