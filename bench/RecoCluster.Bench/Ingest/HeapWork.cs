namespace RecoCluster.Bench.Ingest;

/// <summary>What the managed heap did in this process over a stretch of a run: bytes allocated and collections by
/// generation.</summary>
/// <param name="AllocatedBytes">Bytes allocated by every thread (<see cref="AllocationTicks"/>).</param>
/// <param name="Collections">Collections of generations 0, 1 and 2 (each counts the younger ones it included).</param>
internal readonly record struct HeapWork(long AllocatedBytes, int[] Collections)
{
    /// <summary>The collections of generations 0, 1 and 2 so far.</summary>
    public static int[] CollectionsSoFar() => [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
}
