using System.Diagnostics;
using RecoCluster.Bench.Queries;

namespace RecoCluster.Tests.Unit;

/// <summary>The benches' latency percentiles (HdrHistogram, three significant digits).</summary>
public sealed class LatencySummaryTests
{
    [Fact]
    public void Percentiles_of_a_known_spread_are_within_a_tenth_of_a_percent()
    {
        // 1 µs to 100 ms in 1 µs steps, shuffled: the p-th percentile is p % of 100 ms.
        var ticks = Enumerable.Range(1, 100_000).Select(us => us * Stopwatch.Frequency / 1_000_000).ToArray();
        new Random(7).Shuffle(ticks);

        var summary = LatencySummary.FromTicks(ticks);

        Assert.Equal(100_000, summary.Count);
        foreach (var (actual, expected) in new[] { (summary.P50Ms, 50.0), (summary.P95Ms, 95.0), (summary.P99Ms, 99.0), (summary.P999Ms, 99.9), (summary.MaxMs, 100.0) })
        {
            Assert.InRange(actual!.Value, expected * 0.999, expected * 1.001);
        }

        Assert.InRange(LatencySummary.PercentileMs(ticks, 99), 99 * 0.999, 99 * 1.001);
    }

    [Fact]
    public void A_single_slow_request_among_fast_ones_shows_in_the_tail_only()
    {
        var fast = Stopwatch.Frequency / 1000; // 1 ms
        var ticks = Enumerable.Repeat(fast, 999).Append(5 * Stopwatch.Frequency).ToArray();

        var summary = LatencySummary.FromTicks(ticks);

        Assert.InRange(summary.P99Ms!.Value, 0.999, 1.001);
        Assert.InRange(summary.P999Ms!.Value, 0.999, 1.001);
        Assert.InRange(summary.MaxMs!.Value, 4_995, 5_005);
    }

    [Fact]
    public void Nothing_measured_gives_no_figures()
    {
        Assert.Equal(LatencySummary.Empty, LatencySummary.FromTicks([]));
        Assert.Null(LatencySummary.Empty.P99Ms);
    }
}
