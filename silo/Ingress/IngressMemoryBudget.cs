using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RecoCluster.Silo.Ingress;

/// <summary>How many records one ingress may take into a batch and read ahead, and how many users it may keep in
/// memory, given how many partitions its silo reads: the silo's budgets (<see cref="IngressOptions.SiloRecordBudget"/>,
/// <see cref="IngressOptions.SiloUsersInMemory"/>) shared equally.</summary>
/// <remarks>
/// Why silo-wide budgets: what a partition holds grows with its batch (the records, the combiner's pair log, the
/// item side in flight), its read-ahead and its resting users, and a silo left with every partition (the others
/// gone, or one silo on a laptop) holds it once per partition. At the per-partition defaults, one silo with all 32
/// partitions of the prod setting ran out of a 2 GiB pod's memory working through a backlog (docs/benchmarks.md,
/// "Ingest against silos"), and its users alone could reach 32 × 200,000 × 300 bytes. Sharing fixed budgets keeps
/// the total bounded whatever the partition count; with few partitions per silo the per-partition limits apply as
/// before, so the common case keeps its large batches and its users. Smaller batches cost rate (more rows and calls
/// per event) and fewer users in memory cost loads from storage, never exactness.
/// Of the memory the runtime may use, the automatic budgets give half to records and a third to resting users, and
/// the item shards' budget a sixth (<see cref="Items.ItemMemoryBudget"/>). The record calibration was measured with
/// the runtime's own overhead, the snapshot and a small catalog included, which is where the rest lives.
/// </remarks>
public sealed partial class IngressMemoryBudget
{
    /// <summary>Bytes counted per record of the automatic record budget. A calibration, not a measurement of one
    /// record: one silo reading 32 partitions through a backlog at 2 KiB a record of all its heap peaked at its
    /// 2 GiB limit and held (docs/benchmarks.md), so half the heap at the same rate leaves the other half free.</summary>
    public const int BytesPerRecord = 2_048;

    /// <summary>Bytes counted per user of the automatic users budget: a resting user's cost in the heap at the
    /// default window and dimension (296 bytes measured, docs/benchmarks.md "Memory").</summary>
    public const int BytesPerUser = 300;

    /// <summary>The smallest record share an ingress gets, however many partitions its silo reads: below a few
    /// hundred records a batch's fixed costs (a transaction, a call per shard) dominate.</summary>
    public const int MinShareRecords = 1_500;

    /// <summary>The fewest users an ingress keeps in memory, however many partitions its silo reads (the least
    /// <see cref="IngressOptions.MaxUsersInMemory"/> admits).</summary>
    public const int MinShareUsers = 1_000;

    /// <summary>The least and the most of the silo's Kafka prefetch queue (<see cref="PrefetchKilobytes"/>).</summary>
    public const int MinPrefetchKilobytes = 4 * 1024, MaxPrefetchKilobytes = 64 * 1024;

    private readonly IngressOptions _options;

    public IngressMemoryBudget(IOptions<IngressOptions> options, ILogger<IngressMemoryBudget> logger)
        : this(options.Value, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)
    {
        LogBudget(logger, Records, Users, PrefetchKilobytes / 1024, AvailableBytes / (1 << 20));
    }

    /// <param name="options">The ingress settings.</param>
    /// <param name="availableBytes">The memory the runtime may use (the GC's total available memory: the heap's
    /// hard limit in a container, the machine's memory otherwise); used for the budgets left automatic. Zero or
    /// less: unknown, and those budgets are unlimited.</param>
    public IngressMemoryBudget(IngressOptions options, long availableBytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        AvailableBytes = availableBytes;
        Records = options.SiloRecordBudget > 0
            ? options.SiloRecordBudget
            : availableBytes > 0 ? Math.Max(MinShareRecords, availableBytes / 2 / BytesPerRecord) : long.MaxValue;
        Users = options.SiloUsersInMemory > 0
            ? options.SiloUsersInMemory
            : availableBytes > 0 ? Math.Max(MinShareUsers, availableBytes / 3 / BytesPerUser) : long.MaxValue;
        PrefetchKilobytes = availableBytes > 0
            ? (int)Math.Clamp(availableBytes / 24 / 1024, MinPrefetchKilobytes, MaxPrefetchKilobytes)
            : MaxPrefetchKilobytes;
    }

    /// <summary>The memory the runtime may use, as given at construction (what the automatic budgets divide).</summary>
    public long AvailableBytes { get; }

    /// <summary>The records all of this silo's ingresses may hold at once.</summary>
    public long Records { get; }

    /// <summary>The users all of this silo's ingresses may keep in memory once stored.</summary>
    public long Users { get; }

    /// <summary>The most the silo's Kafka consumer holds fetched ahead for all of its partitions together, in
    /// librdkafka's native memory (outside the heap the other budgets share): a 24th of the memory the runtime may use,
    /// which in a container is three quarters of its limit, so an eighth of the quarter left outside the heap, between
    /// 4 and 64 MiB. The records an ingress holds read ahead are in the heap's record budget; this only keeps the
    /// fetches flowing between them.</summary>
    public int PrefetchKilobytes { get; }

    /// <summary>The limits of one ingress among <paramref name="ingresses"/> on this silo.</summary>
    public IngressShare Share(int ingresses)
    {
        var n = Math.Max(1, ingresses);
        var records = Math.Max(MinShareRecords, Records / n);
        var batch = (int)Math.Min(_options.MaxBatchRecords, records / 3);
        var buffered = (int)Math.Min(_options.MaxBufferedRecords, records - batch);
        var users = (int)Math.Min(_options.MaxUsersInMemory, Math.Max(MinShareUsers, Users / n));
        return new IngressShare(batch, Math.Max(batch, buffered), users);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingress budgets of this silo, shared among the partitions it reads: {Records} records in batches and read ahead, {Users} users in memory, {PrefetchMiB} MiB fetched ahead by Kafka ({AvailableMiB} MiB available to the runtime; Reco:Ingress:SiloRecordBudget and SiloUsersInMemory, 0 for automatic)")]
    private static partial void LogBudget(ILogger logger, long records, long users, int prefetchMiB, long availableMiB);
}
