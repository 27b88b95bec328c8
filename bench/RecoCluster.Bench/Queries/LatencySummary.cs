using System.Diagnostics;
using HdrHistogram;

namespace RecoCluster.Bench.Queries;

/// <summary>Latency percentiles, in milliseconds, from an HdrHistogram of the latencies in microseconds with three
/// significant digits, so a figure is within 0.1 % of the exact one. All fields are null when there was nothing to
/// measure.</summary>
/// <remarks>The histogram takes no coordinated-omission correction (<c>RecordValueWithExpectedInterval</c>): the
/// open-loop generator already measures every request from the time it was due, not from when it was sent, so a
/// stall shows in every request it delayed.</remarks>
public sealed record LatencySummary(int Count, double? P50Ms, double? P95Ms, double? P99Ms, double? P999Ms, double? MaxMs)
{
    // An hour, in microseconds: far above any latency a bench waits for (a request times out after seconds).
    private const long HighestMicroseconds = 3_600_000_000;

    public static LatencySummary Empty { get; } = new(0, null, null, null, null, null);

    /// <summary>The summary of <paramref name="ticks"/> (<see cref="Stopwatch"/> ticks).</summary>
    public static LatencySummary FromTicks(IReadOnlyCollection<long> ticks)
    {
        ArgumentNullException.ThrowIfNull(ticks);
        if (ticks.Count == 0)
        {
            return Empty;
        }

        var histogram = Histogram(ticks);
        return new LatencySummary(
            ticks.Count,
            Ms(histogram.GetValueAtPercentile(50)),
            Ms(histogram.GetValueAtPercentile(95)),
            Ms(histogram.GetValueAtPercentile(99)),
            Ms(histogram.GetValueAtPercentile(99.9)),
            Ms(histogram.GetMaxValue()));
    }

    /// <summary>The <paramref name="percentile"/> (0–100) of <paramref name="ticks"/>, in milliseconds.</summary>
    public static double PercentileMs(IReadOnlyCollection<long> ticks, double percentile)
    {
        ArgumentNullException.ThrowIfNull(ticks);
        return ticks.Count == 0 ? 0 : Ms(Histogram(ticks).GetValueAtPercentile(percentile));
    }

    public static double TicksToMs(long ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 3);

    private static LongHistogram Histogram(IEnumerable<long> ticks)
    {
        var histogram = new LongHistogram(HighestMicroseconds, numberOfSignificantValueDigits: 3);
        foreach (var t in ticks)
        {
            histogram.RecordValue(Math.Clamp((long)Math.Round(t * 1_000_000.0 / Stopwatch.Frequency), 0, HighestMicroseconds));
        }

        return histogram;
    }

    private static double Ms(long microseconds) => Math.Round(microseconds / 1000.0, 3);
}
