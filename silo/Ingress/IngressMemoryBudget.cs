using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RecoCluster.Silo.Ingress;

/// <summary>How many records one ingress may take into a batch and read ahead, given how many partitions its
/// silo reads: the silo's record budget (<see cref="IngressOptions.SiloRecordBudget"/>) shared equally.</summary>
/// <remarks>
/// Why a silo-wide budget: what a partition holds while it works through a backlog grows with its batch (the
/// records, the combiner's pair log, the item side in flight) and its read-ahead, and a silo left with every
/// partition (the others gone, or one silo on a laptop) holds it once per partition. At the defaults, one silo with
/// all 32 partitions of the prod setting ran out of a 2 GiB pod's memory (docs/benchmarks.md, "A lone silo under
/// the pod's memory limit"). Sharing a fixed budget keeps the total bounded whatever the partition count; with few
/// partitions per silo the per-partition limits apply as before, so the common case keeps its large batches.
/// Smaller batches cost rate (more rows and calls per event), never exactness.
/// </remarks>
public sealed partial class IngressMemoryBudget
{
    /// <summary>Bytes of the runtime's memory counted per record of the automatic budget. A calibration, not a
    /// measurement of one record: at 32 partitions in a 2 GiB pod (1.5 GiB for the heap) it gives each partition
    /// batches of about 8,000 and read-ahead of about 16,000, a little below the 10,000 and 20,000 that were measured
    /// to fit (docs/benchmarks.md).</summary>
    public const int BytesPerRecord = 2_048;

    /// <summary>The smallest share an ingress gets, however many partitions its silo reads: below a few hundred
    /// records a batch's fixed costs (a transaction, a call per shard) dominate.</summary>
    public const int MinShareRecords = 1_500;

    private readonly IngressOptions _options;

    public IngressMemoryBudget(IOptions<IngressOptions> options, ILogger<IngressMemoryBudget> logger)
        : this(options.Value, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)
    {
        LogBudget(logger, Records, options.Value.SiloRecordBudget > 0 ? "Reco:Ingress:SiloRecordBudget" : $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1 << 20)} MiB available to the runtime");
    }

    /// <param name="options">The ingress settings.</param>
    /// <param name="availableBytes">The memory the runtime may use (the GC's total available memory: the heap's
    /// hard limit in a container, the machine's memory otherwise); used when the budget is automatic.</param>
    public IngressMemoryBudget(IngressOptions options, long availableBytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Records = options.SiloRecordBudget > 0
            ? options.SiloRecordBudget
            : availableBytes > 0 ? Math.Max(MinShareRecords, availableBytes / BytesPerRecord) : long.MaxValue;
    }

    /// <summary>The records all of this silo's ingresses may hold at once.</summary>
    public long Records { get; }

    /// <summary>The limits of one ingress among <paramref name="ingresses"/> on this silo.</summary>
    public IngressShare Share(int ingresses)
    {
        var share = Math.Max(MinShareRecords, Records / Math.Max(1, ingresses));
        var batch = (int)Math.Min(_options.MaxBatchRecords, share / 3);
        var buffered = (int)Math.Min(_options.MaxBufferedRecords, share - batch);
        return new IngressShare(batch, Math.Max(batch, buffered));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingress record budget of this silo: {Records} records, shared among the partitions it reads (from {Source})")]
    private static partial void LogBudget(ILogger logger, long records, string source);
}
