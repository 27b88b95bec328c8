using System.Text.Json;
using RecoCluster.Bench.Queries;

namespace RecoCluster.Bench.Memory;

/// <summary><c>bench/results/memory.json</c>: how the run was made and what it measured. Read back by
/// <c>report</c>.</summary>
public sealed record MemoryResults(
    string Benchmark,
    DateTimeOffset Date,
    string Command,
    MachineInfo Machine,
    LoadAverages Load,
    MemorySettings Settings,
    MemoryFigures Figures)
{
    public const string FileName = "memory.json";

    /// <summary>The population: what the per-user figure is projected to when the run used fewer.</summary>
    public const int TargetUsers = 1_000_000;

    /// <summary>The targets (reported, not tuned for).</summary>
    public const double TargetBytesPerUser = 300;

    public const double TargetBytesPerEntry = 16;

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}

/// <param name="Users">User models created and fed.</param>
/// <param name="Items">The catalog (every item is in the factor table; only items that got events have models).</param>
/// <param name="EventsPerUser">Events per user, interleaved across users.</param>
/// <param name="Clusters">Planted item clusters.</param>
/// <param name="HomeShare">Share of a user's events from their home cluster.</param>
/// <param name="WindowSize">The user window (<c>UserGrainOptions.WindowSize</c>).</param>
/// <param name="FactorDimensions">The factor model's dimension (0: off).</param>
/// <param name="BatchEvents">Events between two drains of the combiner into the item models (a batch).</param>
/// <param name="ServerGc">Whether the run used the server GC (heap figures differ little, timings more).</param>
public sealed record MemorySettings(
    int Users,
    int Items,
    int EventsPerUser,
    int Clusters,
    double HomeShare,
    int WindowSize,
    int FactorDimensions,
    int BatchEvents,
    bool ServerGc);

/// <param name="Events">Events applied.</param>
/// <param name="FillSeconds">Wall time to apply them, item side included (not a throughput benchmark: the
/// machine may be shared).</param>
/// <param name="MeanWindowLength">Mean number of items in a user's window at the end.</param>
/// <param name="UsersWithFactors">Users that have a factor vector.</param>
/// <param name="ItemGrains">Item models (<c>ItemModel</c>) with any state.</param>
/// <param name="CooccurrenceEntries">Non-zero entries of the co-occurrence rows, over all items.</param>
/// <param name="PurchaseEntries">Non-zero entries of the purchase rows.</param>
/// <param name="LongestRow">The longest co-occurrence row.</param>
/// <param name="HeapBeforeBytes">Managed heap after full collections, before any model existed (ids, their table of numbers, the factor table).</param>
/// <param name="HeapFilledBytes">The same with every user and item model filled.</param>
/// <param name="UserHeapBytes">What the heap lost when the user models were dropped.</param>
/// <param name="ItemHeapBytes">What it lost when the item models were dropped next.</param>
/// <param name="ResidueBytes">Heap after dropping both, minus <see cref="HeapBeforeBytes"/>: should be near 0.</param>
/// <param name="BytesPerUser">UserHeapBytes / users.</param>
/// <param name="BytesPerEntry">ItemHeapBytes / (co-occurrence + purchase + sequential entries): every row is a
/// <c>CountRow</c>, so an entry costs the same in any of them.</param>
/// <param name="StoredBytesPerUser">Mean stored state (<c>UserGrainStateCodec</c>) per user: the payload of its
/// <c>reco_user</c> row.</param>
/// <param name="StoredBytesPerItem">Mean stored state (<c>ItemGrainStateCodec</c>) per item: the payload of its
/// <c>reco_item</c> row.</param>
/// <param name="StoredBytesPerEntry">Total stored item state / entries (counts and vectors included).</param>
/// <param name="ProjectedUserHeapGiB">BytesPerUser × <see cref="MemoryResults.TargetUsers"/>, in GiB: linear
/// because a user's state is bounded by the window and the vector, whatever the number of users.</param>
/// <param name="SequentialEntries">Non-zero entries of the sequential rows ("what comes next"); 0 in results
/// written before they existed.</param>
public sealed record MemoryFigures(
    long Events,
    double FillSeconds,
    double MeanWindowLength,
    long UsersWithFactors,
    long ItemGrains,
    long CooccurrenceEntries,
    long PurchaseEntries,
    long LongestRow,
    long HeapBeforeBytes,
    long HeapFilledBytes,
    long UserHeapBytes,
    long ItemHeapBytes,
    long ResidueBytes,
    double BytesPerUser,
    double BytesPerEntry,
    double StoredBytesPerUser,
    double StoredBytesPerItem,
    double StoredBytesPerEntry,
    double ProjectedUserHeapGiB,
    long SequentialEntries = 0)
{
    public long NonZeroEntries => CooccurrenceEntries + PurchaseEntries + SequentialEntries;
}
