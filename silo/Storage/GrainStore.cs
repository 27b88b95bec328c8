using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace RecoCluster.Silo.Storage;

/// <summary>Thrown when a write is refused because another activation has claimed the partition or shard since.</summary>
public sealed class PartitionFencedException(string what, int number, long epoch)
    : Exception($"{what} {number} was claimed by another activation; epoch {epoch} is stale");

/// <summary>
/// Grain storage through plain ADO.NET: PostgreSQL (Npgsql) or SQLite (Microsoft.Data.Sqlite). The SQL is the
/// same for both apart from the schema scripts (INSERT … ON CONFLICT and RETURNING exist in both), so the two
/// providers cannot drift apart in behaviour.
/// </summary>
public sealed partial class GrainStore : IAsyncDisposable
{
    private const long MigrationLockKey = 0x7265636f; // 'reco': serialises concurrent migrators on PostgreSQL.

    /// <summary>Connections one store opens to PostgreSQL at most, unless its connection string says otherwise.</summary>
    public const int DefaultMaxPoolSize = 32;

    // SQLite admits one writer per database file at a time, and Microsoft.Data.Sqlite waits for a busy file by
    // putting its thread to sleep in 150 ms steps until the command timeout (it sets no busy handler). With many
    // writers of one silo sharing one file, most of a write's time was that sleep, holding a pool thread (a profile
    // of `./reco bench ingest` on the first runtime: 8 % of all thread time in Thread.Sleep under
    // BeginTransaction). So every writer of this process waits for its turn
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
            // A silo activating thousands of grains at once reads their states concurrently, and Npgsql's default
            // pool (100 connections) lets each read take a connection of its own: a few silos and a gateway then ask
            // for more connections than a PostgreSQL server admits ("53300: sorry, too many clients", seen in the
            // multi-process test against a server with max_connections=200). Reads beyond the pool wait for a free
            // connection instead. A connection string that sets its own maximum keeps it.
            // (A plain DbConnectionStringBuilder holds only the keys the string sets; Npgsql's knows every keyword.)
            var given = new DbConnectionStringBuilder { ConnectionString = options.ConnectionString };
            var postgres = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            if (!given.Keys.Cast<string>().Any(k => k.Replace(" ", string.Empty, StringComparison.Ordinal) is var key
                && (key.Equals("MaximumPoolSize", StringComparison.OrdinalIgnoreCase) || key.Equals("MaxPoolSize", StringComparison.OrdinalIgnoreCase))))
            {
                postgres.MaxPoolSize = DefaultMaxPoolSize;
            }

            return new GrainStore(provider, NpgsqlDataSource.Create(postgres.ConnectionString));
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
        await OffGrainTurn();
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
            Add(record, "@v", version);
            Add(record, "@t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await record.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    /// <summary>The highest schema version applied.</summary>
    public async Task<int> SchemaVersionAsync(CancellationToken ct)
    {
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        return Convert.ToInt32(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM reco_schema;", ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Checks the database answers.</summary>
    public async Task PingAsync(CancellationToken ct)
    {
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await ScalarAsync(connection, null, "SELECT 1;", ct);
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

    /// <summary>On SQLite, moves the rest of the awaiting method to the thread pool; on PostgreSQL, nothing.</summary>
    /// <remarks>
    /// Microsoft.Data.Sqlite has no asynchronous I/O: its <c>…Async</c> methods run the statement on the calling
    /// thread and return a completed task. Called from a grain, a store operation then ran inside the grain's turn,
    /// and every other call to that grain waited for it: a read of a user, interleaved with its partition's
    /// ingress, waited for a whole batch's write. Off the turn, the grain takes other calls while the statement runs,
    /// as it does while a PostgreSQL statement is on the wire. A custom awaiter, because an awaited task resumes
    /// on the grain's scheduler. What a grain hands to the store is its own copy, which it does not change until
    /// the operation ends.
    /// </remarks>
    private ThreadPoolHop OffGrainTurn() => new(Provider == StorageProvider.Sqlite);

    private readonly struct ThreadPoolHop(bool hop) : ICriticalNotifyCompletion
    {
        public bool IsCompleted => !hop;

        public ThreadPoolHop GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) =>
            ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) =>
            ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        return command;
    }

    // The name as the SQL writes it, "@" included: Microsoft.Data.Sqlite binds a parameter by looking its name up
    // as given, and only when that fails tries each prefix in turn, building the prefixed name and its UTF-8 copy
    // for each, per parameter and per execution (a multi-row upsert has hundreds). Npgsql takes either form.
    private static DbParameter Add(DbCommand command, string name, object value)
    {
        System.Diagnostics.Debug.Assert(name.StartsWith('@'), $"parameter {name} is named without the @ its SQL uses");
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
