using static RecoCluster.Bench.BenchText;

namespace RecoCluster.Bench.Memory;

/// <summary>The memory bench's results as Markdown: printed at the end of a run and put into docs/benchmarks.md
/// by <c>report</c>, so both always show the same thing.</summary>
public static class MemoryTables
{
    public static string Markdown(MemoryResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var s = results.Settings;
        var f = results.Figures;
        var lines = new List<string>
        {
            "| what | per | in memory (heap) | stored | target (memory) |",
            "|---|---|---:|---:|---:|",
            Row("user: id, working-set entry, window, counts, vector", "user", f.BytesPerUser, f.StoredBytesPerUser, I($"≤ {MemoryResults.TargetBytesPerUser:N0} B")),
            Row("item models: rows, purchase rows, counts, vectors", "non-zero entry", f.BytesPerEntry, f.StoredBytesPerEntry, I($"≤ {MemoryResults.TargetBytesPerEntry:N0} B")),
            "",
            I($"{s.Users:N0} users × {s.EventsPerUser} events = {f.Events:N0} events over {s.Items:N0} items (Zipf, {s.Clusters:N0} planted clusters, {s.HomeShare:P0} of a user's events from their home cluster); window {s.WindowSize}, factor dimension {s.FactorDimensions}; the users in a `UserWorkingSet` (what a partition's ingress holds of its users: each user's id, its entry and, once its batch is drained, its packed state), each item an `ItemModel` (what an item shard holds per item), the combiner drained into the item models every {s.BatchEvents:N0} events, as an ingress sends each batch's item side to the shards. ") +
                I($"At the end: mean window {f.MeanWindowLength:0.#} items, {f.UsersWithFactors:N0} users with a vector; {f.ItemGrains:N0} item models holding {f.CooccurrenceEntries:N0} co-occurrence, {f.PurchaseEntries:N0} purchase and {f.SequentialEntries:N0} sequential entries (longest row {f.LongestRow:N0}), {f.StoredBytesPerItem:N0} B stored per item."),
            "",
            I($"Heap after full collections: {GiB(f.HeapBeforeBytes)} before any model (item ids, their numbers and the factor table), {GiB(f.HeapFilledBytes)} filled; dropping the users (the working set) freed {GiB(f.UserHeapBytes)}, dropping the item models then freed {GiB(f.ItemHeapBytes)}; {Mib(f.ResidueBytes)} left over against the start. ") +
                (s.Users < MemoryResults.TargetUsers
                    ? I($"At the issue's {MemoryResults.TargetUsers:N0} users the user side would take {f.ProjectedUserHeapGiB:N1} GiB (the per-user figure × {MemoryResults.TargetUsers:N0}: a user's state is bounded by the window and the vector, so it scales linearly; the number of entries does not, so the item side is not projected).")
                    : I($"The user side takes {f.ProjectedUserHeapGiB:N1} GiB at {MemoryResults.TargetUsers:N0} users.")),
        };
        return string.Join('\n', lines);
    }

    private static string Row(string what, string per, double heap, double stored, string target) =>
        I($"| {what} | {per} | {heap:N0} B | {stored:N0} B | {target} |");

    private static string GiB(long bytes) => I($"{bytes / (double)(1L << 30):N2} GiB");

    private static string Mib(long bytes) => I($"{bytes / (double)(1L << 20):N1} MiB");
}
