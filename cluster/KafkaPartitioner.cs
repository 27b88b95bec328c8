using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RecoCluster.Cluster;

/// <summary>
/// Kafka's default key partitioner (the Java client's, and librdkafka's <c>murmur2_random</c> for non-null
/// keys): <c>(murmur2(utf8(key)) &amp; 0x7fffffff) % partitions</c>. The gateway uses it to find the silo that
/// owns a user without asking anyone, so it must agree bit for bit with the producers' partitioner.
/// </summary>
public static class KafkaPartitioner
{
    private const uint Seed = 0x9747b28c;
    private const uint M = 0x5bd1e995;
    private const int R = 24;

    /// <summary>The partition of <paramref name="key"/> among <paramref name="partitionCount"/> partitions.</summary>
    public static int PartitionFor(string key, int partitionCount)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var written = Encoding.UTF8.GetBytes(key, buffer);
            return PartitionFor(buffer[..written], partitionCount);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The partition of a key given as bytes.</summary>
    public static int PartitionFor(ReadOnlySpan<byte> key, int partitionCount) =>
        (int)((uint)(Murmur2(key) & 0x7fffffff) % (uint)partitionCount);

    /// <summary>Kafka's 32-bit murmur2 (seed 0x9747b28c), as a signed int like Java's.</summary>
    public static int Murmur2(ReadOnlySpan<byte> data)
    {
        var length = data.Length;
        var h = Seed ^ (uint)length;
        var blocks = length / 4;
        for (var i = 0; i < blocks; i++)
        {
            var k = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * 4, 4));
            k *= M;
            k ^= k >> R;
            k *= M;
            h *= M;
            h ^= k;
        }

        var tail = data[(blocks * 4)..];
        switch (tail.Length)
        {
            case 3:
                h ^= (uint)tail[2] << 16;
                h ^= (uint)tail[1] << 8;
                h ^= tail[0];
                h *= M;
                break;
            case 2:
                h ^= (uint)tail[1] << 8;
                h ^= tail[0];
                h *= M;
                break;
            case 1:
                h ^= tail[0];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        h ^= h >> 15;
        return unchecked((int)h);
    }
}
