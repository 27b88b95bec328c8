using Microsoft.Extensions.Options;

namespace RecoCluster.Silo.Ingress;

/// <summary>How the partition ingress grains read the events topic. Section <c>Reco:Ingress</c>.</summary>
public sealed class IngressOptions
{
    public const string Section = "Reco:Ingress";

    /// <summary>The most records one batch takes. A batch costs a stored row per user and per item in it and a call
    /// per item shard, so larger batches amortise more (docs/benchmarks.md, "Ingest on the Orleans path"). A batch
    /// is what is buffered when the last one is stored, up to this, so the limit matters only while the ingress is
    /// behind: a light load still makes small batches and shows each event soon.</summary>
    public int MaxBatchRecords { get; set; } = 20_000;

    /// <summary>How often an idle ingress looks for new records, in milliseconds (a bound on the added delay
    /// before an event is applied; a busy ingress starts its next batch as soon as the last one is stored).</summary>
    public int PollIntervalMs { get; set; } = 10;

    /// <summary>Records read ahead from Kafka and held per partition. Bounds memory when the item shards or the
    /// database are slow: the log, not the silo, holds the backlog.</summary>
    public int MaxBufferedRecords { get; set; } = 40_000;

    /// <summary>Records all of a silo's ingresses hold at once, in their open batches and read ahead, shared
    /// equally among the partitions the silo reads: each takes batches of at most a third of its share and reads
    /// ahead at most the rest, and never more than <see cref="MaxBatchRecords"/> and <see cref="MaxBufferedRecords"/>.
    /// So a silo left with many partitions makes smaller batches instead of running out of memory. 0 (the default):
    /// half the memory the runtime may use (a container's limit counts), at
    /// <see cref="IngressMemoryBudget.BytesPerRecord"/> bytes a record (see <see cref="IngressMemoryBudget"/>).</summary>
    public long SiloRecordBudget { get; set; }

    /// <summary>Users all of a silo's ingresses keep in memory once stored, shared equally among the partitions the
    /// silo reads, each never more than <see cref="MaxUsersInMemory"/> (nor fewer than 1,000). 0 (the default): a
    /// third of the memory the runtime may use, at <see cref="IngressMemoryBudget.BytesPerUser"/> bytes a user.</summary>
    public long SiloUsersInMemory { get; set; }

    /// <summary>How often every silo makes sure each partition has a running ingress (after a silo dies, its
    /// partitions' ingresses restart elsewhere within this long, plus Orleans' failure detection).</summary>
    public int KeeperIntervalMs { get; set; } = 1_000;

    /// <summary>The first delay after a failed batch; it doubles up to 5 s while failures go on.</summary>
    public int RetryDelayMs { get; set; } = 100;

    /// <summary>Users of a partition its ingress keeps in memory. Beyond it, the stored users untouched for longest
    /// are forgotten (and read from storage again when they come back). A resting user costs about 300 bytes at the
    /// default window and dimension (docs/benchmarks.md, "Memory"), so the default holds about 60 MB per partition.</summary>
    public int MaxUsersInMemory { get; set; } = 200_000;
}

/// <summary>Start-up validation of <see cref="IngressOptions"/>, with messages that name the setting.</summary>
public sealed class IngressOptionsValidator : IValidateOptions<IngressOptions>
{
    public ValidateOptionsResult Validate(string? name, IngressOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        Check(errors, nameof(options.MaxBatchRecords), options.MaxBatchRecords, 1, 100_000);
        Check(errors, nameof(options.PollIntervalMs), options.PollIntervalMs, 1, 10_000);
        Check(errors, nameof(options.MaxBufferedRecords), options.MaxBufferedRecords, 1, 10_000_000);
        Check(errors, nameof(options.KeeperIntervalMs), options.KeeperIntervalMs, 100, 600_000);
        Check(errors, nameof(options.RetryDelayMs), options.RetryDelayMs, 1, 60_000);
        Check(errors, nameof(options.MaxUsersInMemory), options.MaxUsersInMemory, 1_000, 100_000_000);
        if (options.SiloRecordBudget != 0 && options.SiloRecordBudget < IngressMemoryBudget.MinShareRecords)
        {
            errors.Add($"{IngressOptions.Section}:SiloRecordBudget is {options.SiloRecordBudget}; it must be 0 (sized from the memory limit) or at least {IngressMemoryBudget.MinShareRecords}.");
        }

        if (options.SiloUsersInMemory != 0 && options.SiloUsersInMemory < IngressMemoryBudget.MinShareUsers)
        {
            errors.Add($"{IngressOptions.Section}:SiloUsersInMemory is {options.SiloUsersInMemory}; it must be 0 (sized from the memory limit) or at least {IngressMemoryBudget.MinShareUsers}.");
        }

        if (options.MaxBufferedRecords < options.MaxBatchRecords)
        {
            errors.Add($"{IngressOptions.Section}:MaxBufferedRecords ({options.MaxBufferedRecords}) must be at least MaxBatchRecords ({options.MaxBatchRecords}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Check(List<string> errors, string setting, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{IngressOptions.Section}:{setting} is {value}; it must be between {min} and {max}.");
        }
    }
}
