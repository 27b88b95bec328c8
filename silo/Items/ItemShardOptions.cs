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
}

/// <summary>Start-up validation of <see cref="ItemShardOptions"/>.</summary>
public sealed class ItemShardOptionsValidator : IValidateOptions<ItemShardOptions>
{
    public ValidateOptionsResult Validate(string? name, ItemShardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Shards is >= 1 and <= 4_096
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{ItemShardOptions.Section}:Shards is {options.Shards}; it must be between 1 and 4096.");
    }
}
