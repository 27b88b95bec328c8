using System.Data;
using System.Data.Common;

namespace RecoCluster.Silo.Storage;

/// <summary>A stored user: the end of the last batch that changed it, and its state (UserGrainStateCodec).</summary>
public readonly record struct StoredUser(long LastBatchEnd, byte[] Payload);

/// <summary>One user of a batch to store: its new state, or null to delete it (erased).</summary>
public readonly record struct UserWrite(string UserId, byte[]? Payload);

// The users of the events partitions (reco_user): loaded by their partition's ingress before a batch touches them,
// and stored with the batch, in one transaction with the batch's item side and fenced by the ingress's epoch.
public sealed partial class GrainStore
{
    /// <summary>How many ids one query asks for (PostgreSQL takes them as one array parameter; SQLite runs one
    /// prepared statement per id, in the process).</summary>
    private const int IdsPerQuery = 1_000;

    /// <summary>The stored users among <paramref name="userIds"/>.</summary>
    public async Task<Dictionary<string, StoredUser>> LoadUsersAsync(IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        var found = new Dictionary<string, StoredUser>(StringComparer.Ordinal);
        if (userIds.Count == 0)
        {
            return found;
        }

        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await foreach (var (id, end, payload) in ReadRowsAsync(connection, "reco_user", "user_id", "last_batch_end, payload", userIds, ct))
        {
            found[id] = new StoredUser(end, payload);
        }

        return found;
    }

    /// <summary>
    /// Stores a batch's users and its item side, in one transaction: <c>pending_end</c> and
    /// <c>pending_item_side</c> of the partition's row, the checkpoint the previous batch reached
    /// (<paramref name="checkpoint"/>: every item shard has stored everything below it), and every changed user (a
    /// deleted one for an erased user). Throws <see cref="PartitionFencedException"/>, storing nothing, when another
    /// reader has claimed the partition since.
    /// </summary>
    public async Task CommitUserBatchAsync(int partition, long epoch, long checkpoint, long batchEnd, byte[] itemSide, IReadOnlyList<UserWrite> users, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(itemSide);
        ArgumentNullException.ThrowIfNull(users);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
        await using (var fence = Command(connection, tx, "UPDATE reco_ingress SET next_offset = @checkpoint, pending_end = @end, pending_item_side = @side, updated_ms = @now WHERE partition_id = @partition AND epoch = @epoch;"))
        {
            Add(fence, "@checkpoint", checkpoint);
            Add(fence, "@end", batchEnd);
            Add(fence, "@side", itemSide);
            Add(fence, "@now", now);
            Add(fence, "@partition", partition);
            Add(fence, "@epoch", epoch);
            if (await fence.ExecuteNonQueryAsync(ct) != 1)
            {
                throw new PartitionFencedException("events partition", partition, epoch);
            }
        }

        var writes = users.Where(u => u.Payload is not null).Select(u => (u.UserId, u.Payload!)).ToList();
        await UpsertRowsAsync(connection, tx, "reco_user", "user_id", [("last_batch_end", batchEnd)], writes, now, ct);
        await DeleteRowsAsync(connection, tx, "reco_user", "user_id", [.. users.Where(u => u.Payload is null).Select(u => u.UserId)], ct);
        await tx.CommitAsync(ct);
    }

    // Rows of `table` whose `key` is one of `ids`: (key, first column as long or 0, payload), the columns being
    // `columns` ("x, payload" or "payload").
    private async IAsyncEnumerable<(string Id, long Number, byte[] Payload)> ReadRowsAsync(DbConnection connection, string table, string key, string columns, IReadOnlyCollection<string> ids, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var withNumber = columns.Contains(',', StringComparison.Ordinal);
        if (Provider == StorageProvider.Postgres)
        {
            foreach (var chunk in ids.Chunk(IdsPerQuery))
            {
                await using var command = Command(connection, null, $"SELECT {key}, {columns} FROM {table} WHERE {key} = ANY(@ids);");
                Add(command, "@ids", chunk);
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    yield return withNumber
                        ? (reader.GetString(0), reader.GetInt64(1), (byte[])reader.GetValue(2))
                        : (reader.GetString(0), 0, (byte[])reader.GetValue(1));
                }
            }

            yield break;
        }

        await using var one = Command(connection, null, $"SELECT {key}, {columns} FROM {table} WHERE {key} = @id;");
        var id = Add(one, "@id", string.Empty);
        foreach (var value in ids)
        {
            id.Value = value;
            await using var reader = await one.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                yield return withNumber
                    ? (reader.GetString(0), reader.GetInt64(1), (byte[])reader.GetValue(2))
                    : (reader.GetString(0), 0, (byte[])reader.GetValue(1));
            }
        }
    }

    // Inserts or replaces rows (key, the shared columns, payload, updated_ms): every row of one call has the same
    // values in the shared columns (a batch's users share their partition and batch end, a write's items their
    // shard). PostgreSQL: RowsPerStatement rows to a statement (one round trip each); SQLite: one prepared
    // statement, run per row.
    private async Task UpsertRowsAsync(DbConnection connection, DbTransaction tx, string table, string key, (string Column, long Value)[] shared, IReadOnlyList<(string Key, byte[] Payload)> rows, long now, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var columns = string.Join(", ", [key, .. shared.Select(c => c.Column), "payload", "updated_ms"]);
        var sharedValues = string.Concat(shared.Select((_, i) => $", @s{i}"));
        var update = string.Join(", ", shared.Select(c => c.Column).Append("payload").Append("updated_ms").Select(c => $"{c} = excluded.{c}"));
        if (Provider == StorageProvider.Sqlite)
        {
            await using var command = Command(connection, tx, $"INSERT INTO {table} ({columns}) VALUES (@k{sharedValues}, @p, @now) ON CONFLICT ({key}) DO UPDATE SET {update};");
            var k = Add(command, "@k", string.Empty);
            var p = Add(command, "@p", Array.Empty<byte>());
            AddShared(command);
            foreach (var (rowKey, payload) in rows)
            {
                k.Value = rowKey;
                p.Value = payload;
                command.ExecuteNonQuery();
            }

            return;
        }

        foreach (var chunk in rows.Chunk(RowsPerStatement))
        {
            await using var command = Command(connection, tx, string.Empty);
            var values = new System.Text.StringBuilder();
            for (var r = 0; r < chunk.Length; r++)
            {
                values.Append(r == 0 ? string.Empty : ", ").Append($"(@k{r}{sharedValues}, @p{r}, @now)");
                Add(command, $"@k{r}", chunk[r].Key);
                Add(command, $"@p{r}", chunk[r].Payload);
            }

            AddShared(command);
            command.CommandText = $"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT ({key}) DO UPDATE SET {update};";
            await command.ExecuteNonQueryAsync(ct);
        }

        void AddShared(DbCommand command)
        {
            for (var i = 0; i < shared.Length; i++)
            {
                Add(command, $"@s{i}", shared[i].Value);
            }

            Add(command, "@now", now);
        }
    }

    private async Task DeleteRowsAsync(DbConnection connection, DbTransaction tx, string table, string key, string[] ids, CancellationToken ct)
    {
        if (ids.Length == 0)
        {
            return;
        }

        if (Provider == StorageProvider.Postgres)
        {
            await using var many = Command(connection, tx, $"DELETE FROM {table} WHERE {key} = ANY(@ids);");
            Add(many, "@ids", ids);
            await many.ExecuteNonQueryAsync(ct);
            return;
        }

        await using var one = Command(connection, tx, $"DELETE FROM {table} WHERE {key} = @id;");
        var id = Add(one, "@id", string.Empty);
        foreach (var value in ids)
        {
            id.Value = value;
            one.ExecuteNonQuery();
        }
    }
}
