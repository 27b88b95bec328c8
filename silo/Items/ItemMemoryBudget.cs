using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RecoCluster.Silo.Items;

/// <summary>The memory a silo's item shards may use for their items (<see cref="ItemShardOptions.SiloMemoryMiB"/>),
/// shared equally among the shards the silo hosts, and how many items they forgot to stay within it.</summary>
/// <remarks>
/// Without it a shard kept every item it had loaded since it started, so a silo's memory grew with the catalog: a
/// long tail of items, each touched once in a while, ends up entirely in the silos' memory. An item stored and
/// unchanged is only a cache of its row; forgetting the least recently used costs a load when it comes back, never
/// exactness. The automatic budget is a sixth of the runtime's memory: the ingresses' budgets take half for
/// records and a third for resting users (<see cref="Ingress.IngressMemoryBudget"/>).
/// </remarks>
public sealed partial class ItemMemoryBudget
{
    /// <summary>The least a shard may hold, however many shards its silo hosts: a popular item's row alone can take
    /// a few hundred kilobytes.</summary>
    public const long MinShareBytes = 256L << 10;

    private int _shards;
    private long _forgotten;

    public ItemMemoryBudget(IOptions<ItemShardOptions> options, ILogger<ItemMemoryBudget> logger)
        : this(options.Value, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)
    {
        LogBudget(logger, Bytes / (1 << 20));
    }

    /// <param name="options">The item shard settings.</param>
    /// <param name="availableBytes">The memory the runtime may use (the GC's total available memory); used when the
    /// budget is automatic. Zero or less: unknown, and the budget is unlimited.</param>
    public ItemMemoryBudget(ItemShardOptions options, long availableBytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        Bytes = options.SiloMemoryMiB > 0
            ? (long)options.SiloMemoryMiB << 20
            : availableBytes > 0 ? Math.Max(MinShareBytes, availableBytes / 6) : long.MaxValue;
    }

    /// <summary>The bytes all of this silo's item shards may hold in items.</summary>
    public long Bytes { get; }

    /// <summary>Items the silo's shards forgot to stay within their shares, since the silo started.</summary>
    public long Forgotten => Interlocked.Read(ref _forgotten);

    /// <summary>One shard's share now: the budget over the shards the silo hosts.</summary>
    public long ShareBytes => Bytes == long.MaxValue ? long.MaxValue : Math.Max(MinShareBytes, Bytes / Math.Max(1, Volatile.Read(ref _shards)));

    /// <summary>A shard activated on this silo (once it holds its items).</summary>
    public void Enter() => Interlocked.Increment(ref _shards);

    /// <summary>A shard's activation on this silo ended.</summary>
    public void Leave() => Interlocked.Decrement(ref _shards);

    /// <summary>A shard forgot <paramref name="items"/> items.</summary>
    public void Forgot(long items) => Interlocked.Add(ref _forgotten, items);

    [LoggerMessage(Level = LogLevel.Information, Message = "Item memory budget of this silo: {MiB} MiB, shared among the item shards it hosts (Reco:Items:SiloMemoryMiB, 0 for a sixth of the runtime's memory)")]
    private static partial void LogBudget(ILogger logger, long miB);
}
