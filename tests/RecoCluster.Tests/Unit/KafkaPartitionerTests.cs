using System.Text;
using RecoCluster.Cluster;

namespace RecoCluster.Tests.Unit;

public class KafkaPartitionerTests
{
    // Reference values of the Java client's Utils.murmur2 (org.apache.kafka.common.utils.UtilsTest).
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2_matches_the_Java_client(string key, int expected) =>
        Assert.Equal(expected, KafkaPartitioner.Murmur2(Encoding.UTF8.GetBytes(key)));

    [Fact]
    public void Partition_is_in_range_and_uses_the_positive_hash()
    {
        for (var i = 0; i < 1000; i++)
        {
            var key = $"user-{i}";
            var p = KafkaPartitioner.PartitionFor(key, 7);
            Assert.InRange(p, 0, 6);
            Assert.Equal((KafkaPartitioner.Murmur2(Encoding.UTF8.GetBytes(key)) & 0x7fffffff) % 7, p);
        }
    }

    [Fact]
    public void Long_keys_use_a_pooled_buffer_with_the_same_result()
    {
        var key = new string('x', 5000) + "é";
        Assert.Equal(
            (KafkaPartitioner.Murmur2(Encoding.UTF8.GetBytes(key)) & 0x7fffffff) % 32,
            KafkaPartitioner.PartitionFor(key, 32));
    }
}
