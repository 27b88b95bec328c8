using System.Data;
using System.Data.Common;
using System.Runtime.InteropServices;
using RecoCluster.Grains.Model;

namespace RecoCluster.Silo.Storage;

/// <summary>An item shard's claim: its epoch (every later write is fenced by it) and its stored watermarks.</summary>
public readonly record struct ItemShardClaim(long Epoch, Dictionary<int, long> Watermarks);

// The items (reco_item, whole, and reco_item_log, the changes since), stored by their shard in one transaction with
// the shard's watermarks (reco_item_shard), fenced by the shard's epoch.
public sealed partial class GrainStore
{
    /// <summary>
    /// Claims an item shard for a new activation: bumps its epoch, fencing every earlier activation, and returns its
    /// stored watermarks. A shard claimed for the first time starts from the events partitions' checkpoints: every
    /// batch below them is stored in every item it touched, and a shard without a row was touched by none. Refuses a
    /// shard count other than the one the shard was first claimed with: items are spread over the shards by it.
    /// </summary>
    public async Task<ItemShardClaim> ClaimItemShardAsync(int shard, int shardCount, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
        for (var attempt = 0; ; attempt++)
        {
            await using (var bump = Command(connection, tx, "UPDATE reco_item_shard SET epoch = epoch + 1, updated_ms = @now WHERE shard_id = @shard RETURNING epoch, shard_count, watermarks;"))
            {
                Add(bump, "@now", now);
                Add(bump, "@shard", shard);
                await using var reader = await bump.ExecuteReaderAsync(ct);
                if (await reader.ReadAsync(ct))
                {
                    var (epoch, count, watermarks) = (reader.GetInt64(0), reader.GetInt32(1), (byte[])reader.GetValue(2));
                    if (count != shardCount)
                    {
                        throw new InvalidOperationException(
                            $"item shard {shard} was stored with Reco:Items:Shards = {count}; this silo has {shardCount}. The shard count cannot change once items are stored: set it back to {count}.");
                    }

                    await reader.DisposeAsync();
                    await tx.CommitAsync(ct);
                    return new ItemShardClaim(epoch, WatermarksCodec.Decode(watermarks));
                }
            }

            if (attempt > 0)
            {
                throw new InvalidOperationException($"item shard {shard} could not be claimed: its row was neither found nor created");
            }

            var checkpoints = new Dictionary<int, long>();
            await using (var read = Command(connection, tx, "SELECT partition_id, next_offset FROM reco_ingress;"))
            await using (var reader = await read.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    checkpoints[reader.GetInt32(0)] = reader.GetInt64(1);
                }
            }

            // Created with epoch 0 and bumped to 1 by the next pass; a silo that created it at the same moment makes
            // this insert do nothing, and the bump takes its row.
            await using var create = Command(connection, tx, """
                INSERT INTO reco_item_shard (shard_id, shard_count, epoch, watermarks, updated_ms) VALUES (@shard, @count, 0, @watermarks, @now)
                ON CONFLICT (shard_id) DO NOTHING;
                """);
            Add(create, "@shard", shard);
            Add(create, "@count", shardCount);
            Add(create, "@watermarks", WatermarksCodec.Encode(checkpoints));
            Add(create, "@now", now);
            await create.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>The stored items among <paramref name="itemIds"/>: each one's row with its log entries added, and
    /// how it is stored.</summary>
    public async Task<Dictionary<string, StoredItem>> LoadItemsAsync(IReadOnlyCollection<string> itemIds, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        var found = new Dictionary<string, StoredItem>(StringComparer.Ordinal);
        if (itemIds.Count == 0)
        {
            return found;
        }

        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        var rows = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await foreach (var (id, _, payload) in ReadRowsAsync(connection, "reco_item", "item_id", "payload", itemIds, ct))
        {
            rows[id] = payload;
        }

        var logs = await ReadItemLogsAsync(connection, rows.Keys, ct);
        foreach (var (id, payload) in rows)
        {
            found[id] = WithLog(id, payload, logs.GetValueOrDefault(id));
        }

        return found;
    }

    /// <summary>Stores a shard's write (items whole, log entries, the logs of items written whole deleted) and its
    /// watermarks in one transaction. Throws <see cref="PartitionFencedException"/>, storing nothing, when another
    /// activation has claimed the shard since.</summary>
    public async Task CommitItemShardAsync(int shard, long epoch, ShardWrite write, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(write);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
        await using (var fence = Command(connection, tx, "UPDATE reco_item_shard SET watermarks = @watermarks, updated_ms = @now WHERE shard_id = @shard AND epoch = @epoch;"))
        {
            Add(fence, "@watermarks", WatermarksCodec.Encode(write.Watermarks));
            Add(fence, "@now", now);
            Add(fence, "@shard", shard);
            Add(fence, "@epoch", epoch);
            if (await fence.ExecuteNonQueryAsync(ct) != 1)
            {
                throw new PartitionFencedException("item shard", shard, epoch);
            }
        }

        await DeleteRowsAsync(connection, tx, "reco_item_log", "item_id", [.. write.ClearedLogs], ct);
        await UpsertRowsAsync(connection, tx, "reco_item", "item_id", [("shard_id", shard)], write.Items, now, ct);
        await InsertItemLogsAsync(connection, tx, write.Logs, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>Up to <paramref name="limit"/> stored items whose id sorts after <paramref name="afterItemId"/> (null:
    /// from the first), in id order, each with its log entries added: a neighborhood round pages through every item
    /// this way.</summary>
    public async Task<List<(string ItemId, ItemGrainState State)>> ReadItemsPageAsync(string? afterItemId, int limit, CancellationToken ct)
    {
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        var rows = new List<(string Id, byte[] Payload)>(limit);
        await using (var command = Command(connection, null, afterItemId is null
            ? "SELECT item_id, payload FROM reco_item ORDER BY item_id LIMIT @limit;"
            : "SELECT item_id, payload FROM reco_item WHERE item_id > @after ORDER BY item_id LIMIT @limit;"))
        {
            Add(command, "@limit", limit);
            if (afterItemId is not null)
            {
                Add(command, "@after", afterItemId);
            }

            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
            }
        }

        if (rows.Count == 0)
        {
            return [];
        }

        // The page's log entries in one range query: the same order and bounds as the page's rows.
        var logs = new Dictionary<string, List<byte[]>>(StringComparer.Ordinal);
        await using (var command = Command(connection, null, afterItemId is null
            ? "SELECT item_id, payload FROM reco_item_log WHERE item_id <= @last ORDER BY item_id, seq;"
            : "SELECT item_id, payload FROM reco_item_log WHERE item_id > @after AND item_id <= @last ORDER BY item_id, seq;"))
        {
            Add(command, "@last", rows[^1].Id);
            if (afterItemId is not null)
            {
                Add(command, "@after", afterItemId);
            }

            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetString(0);
                (CollectionsMarshal.GetValueRefOrAddDefault(logs, id, out _) ??= []).Add((byte[])reader.GetValue(1));
            }
        }

        return rows.ConvertAll(r => (r.Id, WithLog(r.Id, r.Payload, logs.GetValueOrDefault(r.Id)).State));
    }

    // An item's state: its row, then each log entry added in order.
    private static StoredItem WithLog(string itemId, byte[] row, List<byte[]>? log)
    {
        var state = ItemGrainStateCodec.Decode(row);
        var logBytes = 0;
        foreach (var entry in log ?? [])
        {
            state.Add(ItemGrainStateCodec.Decode(entry));
            logBytes += entry.Length;
        }

        var entries = log?.Count ?? 0;
        return new StoredItem(state, new ItemStoredForm(row.Length, logBytes, entries, entries));
    }

    // The log entries of `itemIds`, each item's in seq order.
    private async Task<Dictionary<string, List<byte[]>>> ReadItemLogsAsync(DbConnection connection, IReadOnlyCollection<string> itemIds, CancellationToken ct)
    {
        var logs = new Dictionary<string, List<byte[]>>(StringComparer.Ordinal);
        if (Provider == StorageProvider.Postgres)
        {
            foreach (var chunk in itemIds.Chunk(IdsPerQuery))
            {
                await using var command = Command(connection, null, "SELECT item_id, payload FROM reco_item_log WHERE item_id = ANY(@ids) ORDER BY item_id, seq;");
                Add(command, "@ids", chunk);
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    (CollectionsMarshal.GetValueRefOrAddDefault(logs, reader.GetString(0), out _) ??= []).Add((byte[])reader.GetValue(1));
                }
            }

            return logs;
        }

        await using var one = Command(connection, null, "SELECT payload FROM reco_item_log WHERE item_id = @id ORDER BY seq;");
        var id = Add(one, "@id", string.Empty);
        foreach (var itemId in itemIds)
        {
            id.Value = itemId;
            await using var reader = await one.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                (CollectionsMarshal.GetValueRefOrAddDefault(logs, itemId, out _) ??= []).Add((byte[])reader.GetValue(0));
            }
        }

        return logs;
    }

    // PostgreSQL: RowsPerStatement entries to a statement (one round trip each); SQLite: one prepared statement, run
    // per entry.
    private async Task InsertItemLogsAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<ItemLogWrite> entries, CancellationToken ct)
    {
        if (entries.Count == 0)
        {
            return;
        }

        if (Provider == StorageProvider.Sqlite)
        {
            await using var command = Command(connection, tx, "INSERT INTO reco_item_log (item_id, seq, payload) VALUES (@k, @s, @p);");
            var k = Add(command, "@k", string.Empty);
            var seq = Add(command, "@s", 0);
            var p = Add(command, "@p", Array.Empty<byte>());
            foreach (var entry in entries)
            {
                k.Value = entry.ItemId;
                seq.Value = entry.Seq;
                p.Value = entry.Payload;
                command.ExecuteNonQuery();
            }

            return;
        }

        foreach (var chunk in entries.Chunk(RowsPerStatement))
        {
            await using var command = Command(connection, tx, string.Empty);
            var values = new System.Text.StringBuilder();
            for (var r = 0; r < chunk.Length; r++)
            {
                values.Append(r == 0 ? string.Empty : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"(@k{r}, @s{r}, @p{r})");
                Add(command, $"@k{r}", chunk[r].ItemId);
                Add(command, $"@s{r}", chunk[r].Seq);
                Add(command, $"@p{r}", chunk[r].Payload);
            }

            command.CommandText = $"INSERT INTO reco_item_log (item_id, seq, payload) VALUES {values};";
            await command.ExecuteNonQueryAsync(ct);
        }
    }
}
