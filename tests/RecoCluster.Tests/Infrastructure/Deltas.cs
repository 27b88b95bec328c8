using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>Item deltas written as dictionaries, for tests.</summary>
internal static class Deltas
{
    public static ItemDelta Of(string itemId, long count, Dictionary<string, long> row, long purchaseCount = 0, Dictionary<string, long>? purchaseRow = null, float[]? factorDelta = null, Dictionary<string, long>? nextRow = null) =>
        new(itemId, count, [.. row.Keys], [.. row.Values], purchaseCount, purchaseRow is null ? null : [.. purchaseRow.Keys], purchaseRow is null ? null : [.. purchaseRow.Values], factorDelta, nextRow is null ? null : [.. nextRow.Keys], nextRow is null ? null : [.. nextRow.Values]);

    /// <summary>C[item][·] of a delta as a dictionary.</summary>
    public static Dictionary<string, long> Row(this ItemDelta delta) =>
        delta.Others.Zip(delta.OtherCounts).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
}
