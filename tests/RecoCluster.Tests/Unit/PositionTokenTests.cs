using RecoCluster.Gateway.Serving;

namespace RecoCluster.Tests.Unit;

/// <summary>The read-your-writes position's text form: what a write answers is what a read may send back.</summary>
public sealed class PositionTokenTests
{
    [Fact]
    public void A_position_reads_back_as_written_partitions_ascending_and_the_later_offset_of_a_partition_wins()
    {
        var token = PositionToken.From([new(7, 88), new(3, 1_206), new(7, 90), new(3, 1_000)])!;

        Assert.Equal("3:1206,7:90", token.ToString());
        Assert.True(PositionToken.TryParse(token.ToString(), out var parsed, out var error), error);
        Assert.Equal(token.Offsets, parsed!.Offsets);
        Assert.Equal(1_206, parsed.For(3));
        Assert.Equal(0, parsed.For(5));
        Assert.Null(PositionToken.From([]));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("abc", "'abc' where 'partition:offset'")]
    [InlineData("3:", "'3:' where")]
    [InlineData(":5", "':5' where")]
    [InlineData("-1:5", "'-1:5' where")]
    [InlineData("1:+5", "'1:+5' where")]
    [InlineData("2:5,2:6", "names partition 2 twice")]
    [InlineData("1:99999999999999999999", "where 'partition:offset'")]
    public void A_malformed_position_is_refused_with_what_is_wrong(string text, string expected)
    {
        Assert.False(PositionToken.TryParse(text, out var token, out var error));
        Assert.Null(token);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.StartsWith("Reco-Position", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_position_longer_than_the_limit_is_refused()
    {
        var text = string.Join(",", Enumerable.Range(0, 1_000).Select(p => $"{p}:123456789"));
        Assert.False(PositionToken.TryParse(text, out _, out var error));
        Assert.Contains($"at most {PositionToken.MaxLength}", error, StringComparison.Ordinal);
    }
}
