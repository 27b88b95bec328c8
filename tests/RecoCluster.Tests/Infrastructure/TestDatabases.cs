using Npgsql;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>The storage a test cluster uses: a fresh SQLite file or a fresh PostgreSQL database per test class.</summary>
public sealed record TestStorage(string Provider, string ConnectionString);

public static class TestDatabases
{
    public const string PostgresVariable = "RECO_TEST_POSTGRES";

    /// <summary>Runs one statement as it is, for a test that sets up what no code path of the current version writes
    /// (an earlier version's rows, say).</summary>
    public static async Task ExecuteAsync(TestStorage storage, string sql)
    {
        ArgumentNullException.ThrowIfNull(storage);
        await using System.Data.Common.DbConnection connection = storage.Provider == "Postgres"
            ? new NpgsqlConnection(storage.ConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection(storage.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A new SQLite file under the system temp folder.</summary>
    public static TestStorage NewSqlite() =>
        new("Sqlite", $"Data Source={Path.Combine(Path.GetTempPath(), $"reco-test-{Guid.NewGuid():N}.db")}");

    /// <summary>A new, empty PostgreSQL database on the server <c>./reco test</c> started. A missing server is a
    /// failure, never a skip: the suite must not pass without having tested PostgreSQL.</summary>
    public static async Task<TestStorage> NewPostgresAsync()
    {
        var admin = Environment.GetEnvironmentVariable(PostgresVariable);
        if (string.IsNullOrWhiteSpace(admin))
        {
            throw new InvalidOperationException(
                $"{PostgresVariable} is not set. Run the suite with ./reco test, which starts a throwaway PostgreSQL 15 " +
                "and passes its connection string; PostgreSQL tests never skip.");
        }

        var name = $"reco_t_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return new TestStorage("Postgres", builder.ConnectionString);
    }

    /// <summary>A fresh PostgreSQL database reached only through a proxy the test can cut (<see cref="TcpProxy.SetDown"/>),
    /// with short timeouts, so that a cut shows within seconds rather than after Npgsql's defaults.</summary>
    public static async Task<(TcpProxy Proxy, TestStorage Storage)> NewPostgresBehindProxyAsync()
    {
        var direct = await NewPostgresAsync();
        var target = new NpgsqlConnectionStringBuilder(direct.ConnectionString);
        var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3, CommandTimeout = 5 };
        return (proxy, new TestStorage("Postgres", viaProxy.ConnectionString));
    }
}
