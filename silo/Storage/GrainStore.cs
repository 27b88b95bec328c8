using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace RecoCluster.Silo.Storage;

/// <summary>The result of claiming a partition: the epoch that fences older owners, and where to resume.</summary>
/// <param name="Epoch">This owner's epoch; checkpoints commit only while it is current.</param>
/// <param name="NextOffset">The first offset whose effects are not in the stored state, or -1 when the
/// partition has never been checkpointed (start from the beginning of the log).</param>
public readonly record struct PartitionClaim(long Epoch, long NextOffset);

/// <summary>One grain state to write in a checkpoint.</summary>
public readonly record struct GrainWrite(string Kind, string Key, byte[] State);

/// <summary>One grain whose stored row a checkpoint deletes (a user erased by an erase command).</summary>
public readonly record struct GrainKey(string Kind, string Key);

/// <summary>One shuffle message kept in the outbox until Kafka has acknowledged it.</summary>
/// <param name="BatchEnd">The source checkpoint offset the batch ends at (exclusive).</param>
/// <param name="TargetPartition">The item-deltas partition it goes to.</param>
/// <param name="Payload">The encoded <c>ItemDeltaBatch</c>.</param>
public readonly record struct OutboxRow(long BatchEnd, int TargetPartition, byte[] Payload);

/// <summary>Everything one partition checkpoint writes, atomically.</summary>
public sealed record Checkpoint(
    string Topic,
    int Partition,
    long Epoch,
    long NextOffset,
    IReadOnlyCollection<GrainWrite> Grains,
    IReadOnlyDictionary<int, long>? Watermarks = null,
    IReadOnlyList<OutboxRow>? Outbox = null,
    long? OutboxAckedThrough = null,
    IReadOnlyCollection<GrainKey>? Deletes = null);

/// <summary>Thrown when a checkpoint is refused because another owner has claimed the partition since.</summary>
public sealed class PartitionFencedException(string topic, int partition, long epoch)
    : Exception($"partition {topic}[{partition}] was claimed by another owner; epoch {epoch} is stale");

/// <summary>
/// Grain storage through plain ADO.NET: PostgreSQL (Npgsql) or SQLite (Microsoft.Data.Sqlite). The SQL is the
/// same for both apart from the schema scripts (INSERT … ON CONFLICT and RETURNING exist in both), so the two
/// providers cannot drift apart in behaviour.
/// </summary>
public sealed partial class GrainStore : IAsyncDisposable
{
    private const long MigrationLockKey = 0x7265636f; // 'reco': serialises concurrent migrators on PostgreSQL.

    // SQLite admits one writer per database file at a time, and Microsoft.Data.Sqlite waits for a busy file by
    // putting its thread to sleep in 150 ms steps until the command timeout (it sets no busy handler). With 16
    // partition workers of one silo checkpointing into one file every 500 ms, most of a checkpoint's time was
    // that sleep, holding a pool thread and the partition's turn (a profile of `./reco bench ingest`: 8 % of all
    // thread time in Thread.Sleep under BeginTransaction). So every writer of this process waits for its turn
    // here instead, asynchronously and first come first served; the sleeping retry is left only between
    // processes that share a file (several silos on one developer machine). One gate per file, shared by every
    // store of the process: the test and bench clusters run several silos in one process.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> SqliteWriters = new(StringComparer.Ordinal);

    private readonly DbDataSource _dataSource;
    private readonly SemaphoreSlim? _writer;

    private GrainStore(StorageProvider provider, DbDataSource dataSource, SemaphoreSlim? writer = null)
    {
        Provider = provider;
        _dataSource = dataSource;
        _writer = writer;
    }

    public StorageProvider Provider { get; }

    /// <summary>Opens the store (no I/O yet) for the configured provider.</summary>
    public static GrainStore Open(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var provider = options.ParsedProvider;
        if (provider == StorageProvider.Postgres)
        {
            return new GrainStore(provider, NpgsqlDataSource.Create(options.ConnectionString));
        }

        var builder = new SqliteConnectionStringBuilder(options.ConnectionString);
        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(directory) && builder.Mode != SqliteOpenMode.Memory)
        {
            Directory.CreateDirectory(directory);
        }

        // Several silo processes may share one file on a developer machine; wait for the writer instead of failing.
        if (builder.DefaultTimeout < 30)
        {
            builder.DefaultTimeout = 30;
        }

        // An in-memory database (Mode=Memory) is private to its connection unless shared by name; either way the
        // name identifies it within the process.
        var file = builder.Mode == SqliteOpenMode.Memory ? builder.DataSource : Path.GetFullPath(builder.DataSource);
        return new GrainStore(provider, SqliteFactory.Instance.CreateDataSource(builder.ToString()), SqliteWriters.GetOrAdd(file, _ => new SemaphoreSlim(1, 1)));
    }

    /// <summary>Creates or migrates the schema: applies, in order and once each, the vendor scripts shipped in
    /// the assembly (<c>Storage/Sql/{vendor}/NNN_*.sql</c>).</summary>
    public async Task MigrateAsync(CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        if (Provider == StorageProvider.Sqlite)
        {
            // WAL lets readers proceed while a checkpoint writes; it is a property of the file, set once.
            await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", ct);
        }

        await using var tx = await connection.BeginTransactionAsync(ct);
        if (Provider == StorageProvider.Postgres)
        {
            // Silos starting together would otherwise race on CREATE TABLE.
            await ExecuteAsync(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLockKey});", ct);
        }

        await ExecuteAsync(connection, tx, "CREATE TABLE IF NOT EXISTS reco_schema (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL);", ct);

        var current = Convert.ToInt32(await ScalarAsync(connection, tx, "SELECT COALESCE(MAX(version), 0) FROM reco_schema;", ct), System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (version, sql) in Scripts(Provider))
        {
            if (version <= current)
            {
                continue;
            }

            await ExecuteAsync(connection, tx, sql, ct);
            await using var record = Command(connection, tx, "INSERT INTO reco_schema (version, applied_ms) VALUES (@v, @t);");
            Add(record, "v", version);
            Add(record, "t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await record.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    /// <summary>The highest schema version applied.</summary>
    public async Task<int> SchemaVersionAsync(CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        return Convert.ToInt32(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM reco_schema;", ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Checks the database answers.</summary>
    public async Task PingAsync(CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await ScalarAsync(connection, null, "SELECT 1;", ct);
    }

    /// <summary>Claims a partition for <paramref name="owner"/>: bumps its epoch (fencing every earlier owner)
    /// and returns where its stored state is consistent to.</summary>
    public async Task<PartitionClaim> ClaimAsync(string topic, int partition, string owner, CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, """
            INSERT INTO reco_partition (topic, partition_id, epoch, next_offset, owner, updated_ms)
            VALUES (@topic, @partition, 1, -1, @owner, @now)
            ON CONFLICT (topic, partition_id) DO UPDATE
               SET epoch = reco_partition.epoch + 1, owner = excluded.owner, updated_ms = excluded.updated_ms
            RETURNING epoch, next_offset;
            """);
        Add(command, "topic", topic);
        Add(command, "partition", partition);
        Add(command, "owner", owner);
        Add(command, "now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            throw new InvalidOperationException($"claiming {topic}[{partition}] returned no row");
        }

        return new PartitionClaim(reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Loads one grain's stored state, or null when it has none.</summary>
    public async Task<byte[]?> LoadGrainAsync(string kind, string key, CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, "SELECT state FROM reco_grain WHERE kind = @kind AND grain_key = @key;");
        Add(command, "kind", kind);
        Add(command, "key", key);
        return await command.ExecuteScalarAsync(ct) as byte[];
    }

    /// <summary>
    /// Writes a checkpoint atomically, in one transaction and only if <see cref="Checkpoint.Epoch"/> is still the
    /// partition's epoch: the partition's next offset, the erased grains' deletions, the dirty grain states, the
    /// item side's watermarks and the user side's outbox (new batch in, acknowledged batches out). Throws <see cref="PartitionFencedException"/>
    /// (and writes nothing) when another owner has claimed the partition since.
    /// </summary>
    public async Task CheckpointAsync(Checkpoint checkpoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var turn = await WriterTurnAsync(ct);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);

        // The fence first: on PostgreSQL this takes the partition row's lock, so a concurrent claim either
        // commits before (and this matches no row) or waits until this transaction is done.
        await using (var fence = Command(connection, tx, """
            UPDATE reco_partition SET next_offset = @offset, updated_ms = @now
             WHERE topic = @topic AND partition_id = @partition AND epoch = @epoch;
            """))
        {
            Add(fence, "offset", checkpoint.NextOffset);
            Add(fence, "now", now);
            Add(fence, "topic", checkpoint.Topic);
            Add(fence, "partition", checkpoint.Partition);
            Add(fence, "epoch", checkpoint.Epoch);
            if (await fence.ExecuteNonQueryAsync(ct) != 1)
            {
                await tx.RollbackAsync(ct);
                throw new PartitionFencedException(checkpoint.Topic, checkpoint.Partition, checkpoint.Epoch);
            }
        }

        // Deletions before writes: a user erased and then active again within one checkpoint interval is
        // deleted and then written fresh, which is the order the log has them in.
        if (checkpoint.Deletes is { Count: > 0 } deletes)
        {
            await using var delete = Command(connection, tx, "DELETE FROM reco_grain WHERE kind = @kind AND grain_key = @key;");
            var kind = Add(delete, "kind", string.Empty);
            var key = Add(delete, "key", string.Empty);
            foreach (var erased in deletes)
            {
                kind.Value = erased.Kind;
                key.Value = erased.Key;
                await delete.ExecuteNonQueryAsync(ct);
            }
        }

        if (checkpoint.Grains.Count > 0)
        {
            await using var upsert = Command(connection, tx, """
                INSERT INTO reco_grain (kind, grain_key, topic, partition_id, version, state, updated_ms)
                VALUES (@kind, @key, @topic, @partition, 1, @state, @now)
                ON CONFLICT (kind, grain_key) DO UPDATE
                   SET state = excluded.state, version = reco_grain.version + 1,
                       topic = excluded.topic, partition_id = excluded.partition_id, updated_ms = excluded.updated_ms;
                """);
            var kind = Add(upsert, "kind", string.Empty);
            var key = Add(upsert, "key", string.Empty);
            Add(upsert, "topic", checkpoint.Topic);
            Add(upsert, "partition", checkpoint.Partition);
            var state = Add(upsert, "state", Array.Empty<byte>());
            Add(upsert, "now", now);
            foreach (var write in checkpoint.Grains)
            {
                kind.Value = write.Kind;
                key.Value = write.Key;
                state.Value = write.State;
                await upsert.ExecuteNonQueryAsync(ct);
            }
        }

        if (checkpoint.Watermarks is { Count: > 0 } watermarks)
        {
            await using var upsert = Command(connection, tx, """
                INSERT INTO reco_watermark (topic, partition_id, source_partition, source_offset)
                VALUES (@topic, @partition, @source, @offset)
                ON CONFLICT (topic, partition_id, source_partition) DO UPDATE SET source_offset = excluded.source_offset;
                """);
            Add(upsert, "topic", checkpoint.Topic);
            Add(upsert, "partition", checkpoint.Partition);
            var source = Add(upsert, "source", 0);
            var offset = Add(upsert, "offset", 0L);
            foreach (var (sourcePartition, sourceOffset) in watermarks)
            {
                source.Value = sourcePartition;
                offset.Value = sourceOffset;
                await upsert.ExecuteNonQueryAsync(ct);
            }
        }

        if (checkpoint.OutboxAckedThrough is { } acked)
        {
            await using var delete = Command(connection, tx, "DELETE FROM reco_outbox WHERE source_topic = @topic AND source_partition = @partition AND batch_end <= @acked;");
            Add(delete, "topic", checkpoint.Topic);
            Add(delete, "partition", checkpoint.Partition);
            Add(delete, "acked", acked);
            await delete.ExecuteNonQueryAsync(ct);
        }

        if (checkpoint.Outbox is { Count: > 0 } outbox)
        {
            // DO NOTHING: a checkpoint whose COMMIT succeeded but whose answer was lost (the connection dropped)
            // is retried as is; its batch is already there, byte for byte, and every other statement here is
            // idempotent too. Without it the retry would fail on the primary key forever.
            await using var insert = Command(connection, tx, """
                INSERT INTO reco_outbox (source_topic, source_partition, batch_end, target_partition, payload)
                VALUES (@topic, @partition, @end, @target, @payload)
                ON CONFLICT (source_topic, source_partition, batch_end, target_partition) DO NOTHING;
                """);
            Add(insert, "topic", checkpoint.Topic);
            Add(insert, "partition", checkpoint.Partition);
            var end = Add(insert, "end", 0L);
            var target = Add(insert, "target", 0);
            var payload = Add(insert, "payload", Array.Empty<byte>());
            foreach (var row in outbox)
            {
                end.Value = row.BatchEnd;
                target.Value = row.TargetPartition;
                payload.Value = row.Payload;
                await insert.ExecuteNonQueryAsync(ct);
            }
        }

        await tx.CommitAsync(ct);
    }

    /// <summary>The item side's watermarks of a partition: source events partition → end of the last batch applied.</summary>
    public async Task<Dictionary<int, long>> LoadWatermarksAsync(string topic, int partition, CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, "SELECT source_partition, source_offset FROM reco_watermark WHERE topic = @topic AND partition_id = @partition;");
        Add(command, "topic", topic);
        Add(command, "partition", partition);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var result = new Dictionary<int, long>();
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetInt32(0)] = reader.GetInt64(1);
        }

        return result;
    }

    /// <summary>Outbox rows of a source partition not yet known to be acknowledged, oldest batch first.</summary>
    public async Task<List<OutboxRow>> LoadOutboxAsync(string topic, int partition, CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, """
            SELECT batch_end, target_partition, payload FROM reco_outbox
             WHERE source_topic = @topic AND source_partition = @partition
             ORDER BY batch_end, target_partition;
            """);
        Add(command, "topic", topic);
        Add(command, "partition", partition);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var result = new List<OutboxRow>();
        while (await reader.ReadAsync(ct))
        {
            result.Add(new OutboxRow(reader.GetInt64(0), reader.GetInt32(1), (byte[])reader.GetValue(2)));
        }

        return result;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static IEnumerable<(int Version, string Sql)> Scripts(StorageProvider provider)
    {
        var assembly = Assembly.GetExecutingAssembly();
        var prefix = provider == StorageProvider.Postgres ? "sql/postgres/" : "sql/sqlite/";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var file = name[prefix.Length..];
            var version = int.Parse(file.AsSpan(0, file.IndexOf('_', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (version, reader.ReadToEnd());
        }
    }

    /// <summary>Waits for this process's turn to write to the SQLite file (see <see cref="SqliteWriters"/>); a
    /// no-op on PostgreSQL, which locks rows, not the database. Dispose the result to end the turn.</summary>
    private async ValueTask<WriterTurn> WriterTurnAsync(CancellationToken ct)
    {
        if (_writer is null)
        {
            return default;
        }

        await _writer.WaitAsync(ct);
        return new WriterTurn(_writer);
    }

    private readonly struct WriterTurn(SemaphoreSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        return command;
    }

    private static DbParameter Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var command = Command(connection, tx, sql);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var command = Command(connection, tx, sql);
        return await command.ExecuteScalarAsync(ct);
    }
}
