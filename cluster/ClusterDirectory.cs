using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RecoCluster.Cluster;

/// <summary>What a silo publishes about itself on the directory topic (key = <see cref="SiloId"/>).</summary>
/// <param name="SiloId">Unique per silo process.</param>
/// <param name="Endpoint">Base URL of the silo's internal HTTP endpoint.</param>
/// <param name="Partitions">The partitions of the events topic (users) the silo owns and has loaded.</param>
/// <param name="PartitionCount">The events topic's partition count, as the silo sees it.</param>
/// <param name="ChangedAtMs">When the silo's owned set last changed (epoch ms): the newer claim wins.</param>
/// <param name="HeartbeatAtMs">When this entry was published (epoch ms); stale entries expire.</param>
/// <param name="ItemPartitions">The partitions of the item-deltas topic (items) the silo owns and has loaded.</param>
/// <param name="HostsBatchGrain">Whether the silo owns the control partition, hence hosts the batch grain.</param>
public sealed record SiloDirectoryEntry(
    string SiloId,
    string Endpoint,
    int[] Partitions,
    int PartitionCount,
    long ChangedAtMs,
    long HeartbeatAtMs,
    int[]? ItemPartitions = null,
    bool HostsBatchGrain = false)
{
    /// <summary>The partitions this silo claims for <paramref name="role"/>.</summary>
    public int[] PartitionsFor(GrainRole role) => role == GrainRole.User ? Partitions : ItemPartitions ?? [];
}

/// <summary>Which kind of grain a key addresses, hence which topic's partitions decide its owner.</summary>
public enum GrainRole
{
    /// <summary>Users: partitions of the events topic.</summary>
    User,

    /// <summary>Items: partitions of the item-deltas topic.</summary>
    Item,
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SiloDirectoryEntry))]
internal sealed partial class DirectoryJsonContext : JsonSerializerContext;

/// <summary>Encoding of directory records.</summary>
public static class DirectoryCodec
{
    public static byte[] Encode(SiloDirectoryEntry entry) =>
        JsonSerializer.SerializeToUtf8Bytes(entry, DirectoryJsonContext.Default.SiloDirectoryEntry);

    public static SiloDirectoryEntry? Decode(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize(bytes, DirectoryJsonContext.Default.SiloDirectoryEntry);
}

/// <summary>Directory settings. Section <c>Reco:Directory</c>.</summary>
public sealed class DirectoryOptions
{
    public const string Section = "Reco:Directory";

    /// <summary>How often a silo republishes its entry. Also bounds how long a silo's changes take to show.</summary>
    public int HeartbeatMs { get; set; } = 2_000;

    /// <summary>An entry not refreshed for this long is considered gone (a silo killed without a tombstone).
    /// Three heartbeats plus slack.</summary>
    public int EntryTtlMs { get; set; } = 10_000;
}

/// <summary>
/// The cluster directory as a reader sees it: every live silo's latest entry, read from the single-partition
/// directory topic from its beginning. Kept in a compacted topic rather than the database so the gateway needs
/// nothing but Kafka, and so changes reach every reader as a push, in order.
/// </summary>
public sealed class ClusterDirectory : IDisposable
{
    private readonly KafkaOptions _kafka;
    private readonly DirectoryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ClusterDirectory> _logger;
    private readonly ConcurrentDictionary<string, SiloDirectoryEntry> _entries = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;
    private volatile bool _caughtUp;

    public ClusterDirectory(IOptions<KafkaOptions> kafka, IOptions<DirectoryOptions> options, TimeProvider time, ILogger<ClusterDirectory> logger)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(options);
        _kafka = kafka.Value;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>True once the reader has read up to the end of the topic at least once.</summary>
    public bool IsCaughtUp => _caughtUp;

    /// <summary>Starts the background reader (idempotent).</summary>
    public void Start()
    {
        if (_thread is not null)
        {
            return;
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "reco-directory" };
        _thread.Start();
    }

    /// <summary>The live entries, freshest claim first.</summary>
    public IReadOnlyList<SiloDirectoryEntry> Live()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return _entries.Values
            .Where(e => now - e.HeartbeatAtMs <= _options.EntryTtlMs)
            .OrderByDescending(e => e.ChangedAtMs)
            .ThenBy(e => e.SiloId, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The events topic's partition count, or 0 when no live silo has reported it yet.</summary>
    public int PartitionCount() => Live().Select(e => e.PartitionCount).DefaultIfEmpty(0).Max();

    /// <summary>True when every partition, of users and of items, is claimed by a live silo.</summary>
    public bool CoversAllPartitions()
    {
        var live = Live();
        var count = live.Select(e => e.PartitionCount).DefaultIfEmpty(0).Max();
        return count > 0 && Covers(live, GrainRole.User, count) && Covers(live, GrainRole.Item, count);
    }

    private static bool Covers(IReadOnlyList<SiloDirectoryEntry> live, GrainRole role, int count)
    {
        var owned = new bool[count];
        foreach (var p in live.SelectMany(e => e.PartitionsFor(role)).Where(p => p >= 0 && p < count))
        {
            owned[p] = true;
        }

        return Array.TrueForAll(owned, o => o);
    }

    /// <summary>Live silos that claim <paramref name="partition"/>, the most recent claim first. During a
    /// rebalance two may claim it for a moment; the callee answers "not owner" if it has let go.</summary>
    public IReadOnlyList<SiloDirectoryEntry> OwnersOf(int partition, GrainRole role = GrainRole.User) =>
        Live().Where(e => Array.IndexOf(e.PartitionsFor(role), partition) >= 0).ToList();

    /// <summary>Applies one directory record (null value = the silo left). Public for tests of the merge rule.</summary>
    public void Apply(string siloId, byte[]? value)
    {
        if (value is null || value.Length == 0)
        {
            _entries.TryRemove(siloId, out _);
            return;
        }

        var entry = DirectoryCodec.Decode(value);
        if (entry is null)
        {
            return;
        }

        // Records of one key arrive in order on one partition, but keep the newest anyway (belt and braces).
        _entries.AddOrUpdate(siloId, entry, (_, old) => entry.HeartbeatAtMs >= old.HeartbeatAtMs ? entry : old);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private void Run()
    {
        var config = KafkaClientSettings.Consumer(_kafka, $"{_kafka.TopicPrefix}.directory-readers", $"reco-directory-{Environment.ProcessId}");
        config.EnablePartitionEof = true;
        try
        {
            using var consumer = new ConsumerBuilder<string, byte[]?>(config)
                .SetErrorHandler((_, e) => _logger.LogWarning("Directory reader: {Reason}", e.Reason))
                .SetLogHandler((_, _) => { })
                .Build();
            // Assign, not subscribe: every reader reads the whole partition; no group membership is involved.
            consumer.Assign(new TopicPartitionOffset(_kafka.Topics.Directory, 0, Offset.Beginning));
            while (!_stop.IsCancellationRequested)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is null)
                {
                    continue;
                }

                if (result.IsPartitionEOF)
                {
                    _caughtUp = true;
                    continue;
                }

                try
                {
                    Apply(result.Message.Key, result.Message.Value);
                }
                catch (JsonException ex)
                {
                    _logger.LogWarning(ex, "Ignoring a malformed directory record at offset {Offset}", result.Offset.Value);
                }
            }

            consumer.Close();
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
        {
            _logger.LogError(ex, "The directory reader stopped");
        }
    }
}
