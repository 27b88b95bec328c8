using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>
/// The form a <see cref="UserModel"/> rests in between the batches that change it: its <see cref="ExpandedUser"/> as
/// one byte array of varints and the vector's raw halves, so that a resting user is this array in its working-set
/// entry instead of a model and three more objects with their headers, and a window entry takes about 6 bytes
/// instead of 12 (docs/benchmarks.md, "Memory"). Lossless: unpacking gives back the same state, which a test checks
/// on random users.
/// </summary>
/// <remarks>
/// In memory only, in the silo's numbering of items: what is stored is <see cref="UserGrainStateCodec"/>'s form, with
/// the items as strings. Layout: the window's length; the four counts; the last event's time; the daily cap's day
/// (as the difference from the last event's day, usually 0) and count; the vector (its length plus one, 0 for none,
/// then the halves); then per entry, most recent first, the item's number and one varint holding the entry's time as
/// the difference from the time before it (the last event's time for the first entry, whose difference is then
/// usually 0), the type, the purchased mark and whether the item was seen more than once, in which case the
/// interaction count follows.
/// </remarks>
internal static class PackedUser
{
    private const long MsPerDay = 86_400_000;

    public static byte[] Pack(ExpandedUser user)
    {
        var writer = StateWriter.Rent();
        writer.VarUInt((ulong)user.RecentCount);
        writer.Count(user.Views);
        writer.Count(user.Clicks);
        writer.Count(user.Carts);
        writer.Count(user.Purchases);
        writer.VarInt(user.LastEventMs);
        writer.VarInt(user.CapDay - (user.LastEventMs / MsPerDay));
        writer.VarInt(user.CapCount);
        writer.Halves(user.Factors);
        var before = user.LastEventMs;
        for (var i = 0; i < user.RecentCount; i++)
        {
            ref readonly var entry = ref user.Recent[i];
            var ms = entry.LastSeenMs;
            var interactions = entry.Interactions;
            writer.VarUInt((uint)entry.Item);
            writer.VarUInt((Zigzag(before - ms) << 4) | ((ulong)(uint)entry.Type << 2) | (entry.Purchased ? 2UL : 0UL) | (interactions > 1 ? 1UL : 0UL));
            if (interactions > 1)
            {
                writer.VarUInt((ulong)(interactions - 2));
            }

            before = ms;
        }

        return writer.Written.ToArray();
    }

    /// <summary>The state in <paramref name="packed"/>. Its window array has room for one more entry while the window
    /// is shorter than <paramref name="growUpTo"/> (the window size, for a user about to take events; 0 for a copy to
    /// read), so that the next new item does not grow it at once.</summary>
    public static ExpandedUser Unpack(ReadOnlySpan<byte> packed, int growUpTo)
    {
        var reader = new StateReader(packed);
        var count = reader.Length(bytesEach: 2);
        var counts = (Views: reader.Count(), Clicks: reader.Count(), Carts: reader.Count(), Purchases: reader.Count());
        var lastEventMs = reader.VarInt();
        var user = new ExpandedUser
        {
            RecentCount = count,
            Views = counts.Views,
            Clicks = counts.Clicks,
            Carts = counts.Carts,
            Purchases = counts.Purchases,
            LastEventMs = lastEventMs,
            CapDay = checked((int)(reader.VarInt() + (lastEventMs / MsPerDay))),
            CapCount = checked((int)reader.VarInt()),
            Factors = reader.Halves(),
        };

        var capacity = count < growUpTo ? count + 1 : count;
        user.Recent = capacity == 0 ? [] : new RecentEntry[capacity];
        var before = user.LastEventMs;
        for (var i = 0; i < count; i++)
        {
            var item = checked((int)reader.VarUInt());
            var timeAndMarks = reader.VarUInt();
            var ms = before - Unzigzag(timeAndMarks >> 4);
            var interactions = (timeAndMarks & 1) != 0 ? checked((int)reader.VarUInt() + 2) : 1;
            user.Recent[i] = new RecentEntry(item, (EventType)((timeAndMarks >> 2) & 3), ms, interactions, (timeAndMarks & 2) != 0);
            before = ms;
        }

        return reader.End ? user : throw new InvalidDataException("a packed user has bytes after its window");
    }

    // A time difference is signed (a late event is older than the one before it) and goes into one varint with the
    // entry's marks, so it is zigzagged here rather than by the writer.
    private static ulong Zigzag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static long Unzigzag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
