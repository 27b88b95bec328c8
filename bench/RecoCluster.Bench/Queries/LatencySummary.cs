using System.Diagnostics;

namespace RecoCluster.Bench.Queries;

/// <summary>Exact latency percentiles, in milliseconds: every latency is kept and sorted (a few hundred thousand
/// values at most per cell), so nothing is lost to histogram buckets. Nearest-rank definition: p99 of 1,000
/// values is the 990th smallest. All fields are null when there was nothing to measure.</summary>
public sealed record LatencySummary(int Count, double? P50Ms, double? P95Ms, double? P99Ms, double? P999Ms, double? MaxMs)
{
    public static LatencySummary Empty { get; } = new(0, null, null, null, null, null);

    public static LatencySummary FromTicks(long[] ticks)
    {
        ArgumentNullException.ThrowIfNull(ticks);
        if (ticks.Length == 0)
        {
            return Empty;
        }

        Array.Sort(ticks);
        return new LatencySummary(
            ticks.Length,
            TicksToMs(Percentile(ticks, 0.50)),
            TicksToMs(Percentile(ticks, 0.95)),
            TicksToMs(Percentile(ticks, 0.99)),
            TicksToMs(Percentile(ticks, 0.999)),
            TicksToMs(ticks[^1]));
    }

    /// <summary>The nearest-rank percentile of an ascending array.</summary>
    public static long Percentile(long[] sorted, double fraction)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var rank = (int)Math.Ceiling(fraction * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double TicksToMs(long ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 3);
}
