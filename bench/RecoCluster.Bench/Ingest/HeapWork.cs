namespace RecoCluster.Bench.Ingest;

/// <summary>What the managed heap has done in this process so far: bytes allocated and collections by generation.
/// Two readings subtract to what a stretch of a run cost the collector.</summary>
/// <param name="AllocatedBytes">Bytes allocated by every thread (<see cref="GC.GetTotalAllocatedBytes"/>).</param>
/// <param name="Collections">Collections of generations 0, 1 and 2 (each counts the younger ones it included).</param>
internal readonly record struct HeapWork(long AllocatedBytes, int[] Collections)
{
    public static HeapWork Now() => new(GC.GetTotalAllocatedBytes(precise: true), [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)]);

    public static HeapWork operator -(HeapWork end, HeapWork start) =>
        new(end.AllocatedBytes - start.AllocatedBytes, [.. end.Collections.Select((c, g) => c - (start.Collections?[g] ?? 0))]);
}
