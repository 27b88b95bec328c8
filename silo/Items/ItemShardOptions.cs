using Microsoft.Extensions.Options;

namespace RecoCluster.Silo.Items;

/// <summary>How items are spread over item shards. Section <c>Reco:Items</c>.</summary>
public sealed class ItemShardOptions
{
    public const string Section = "Reco:Items";

    /// <summary>Item shards (grains, one activation each, spread over the silos like the partitions' ingresses). Every
    /// batch of every partition costs one call per shard it touches, and a shard holds its items in memory, so more
    /// shards spread the items over more silos for a few more calls. It cannot change once items are stored: a
    /// shard refuses to start with another count.</summary>
    public int Shards { get; set; } = 32;

    /// <summary>The least time between the starts of two writes of a shard, in milliseconds. A write stores every
    /// item changed since the last one, whole, so while events flow a shard that wrote after every batch would store
    /// its busy items' rows over and over; waiting lets the batches of every partition meet in one write. A shard
    /// that has not written for this long writes at once, so an idle cluster shows an event without this delay.
    /// The price: under load a partition's batch waits up to this long for its shards before it is checkpointed
    /// (its users see it before that). 0 writes as soon as the last write is done.</summary>
    public int WriteIntervalMs { get; set; } = 100;

    /// <summary>Memory, in MiB, that all of a silo's item shards may use for the items they hold, shared equally among
    /// the shards the silo hosts; beyond its share, a shard forgets the stored items loaded or changed least recently (and
    /// loads them again when a batch or a read needs them). 0 (the default): a sixth of the memory the runtime may use
    /// (a container's limit counts; see <see cref="ItemMemoryBudget"/>).</summary>
    public int SiloMemoryMiB { get; set; }
}

/// <summary>Start-up validation of <see cref="ItemShardOptions"/>.</summary>
public sealed class ItemShardOptionsValidator : IValidateOptions<ItemShardOptions>
{
    public ValidateOptionsResult Validate(string? name, ItemShardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Shards is < 1 or > 4_096)
        {
            failures.Add($"{ItemShardOptions.Section}:Shards is {options.Shards}; it must be between 1 and 4096.");
        }

        if (options.SiloMemoryMiB is < 0 or > 1_048_576)
        {
            failures.Add($"{ItemShardOptions.Section}:SiloMemoryMiB is {options.SiloMemoryMiB}; it must be 0 (a sixth of the memory limit) or between 1 and 1048576.");
        }

        if (options.WriteIntervalMs is < 0 or > 10_000)
        {
            failures.Add($"{ItemShardOptions.Section}:WriteIntervalMs is {options.WriteIntervalMs}; it must be between 0 and 10000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
