using System.Data;
using RecoCluster.Grains.Model;

namespace RecoCluster.Silo.Storage;

/// <summary>An item shard's claim: its epoch (every later write is fenced by it) and its stored watermarks.</summary>
public readonly record struct ItemShardClaim(long Epoch, Dictionary<int, long> Watermarks);

// The items (reco_item), stored by their shard in one transaction with the shard's watermarks (reco_item_shard),
// fenced by the shard's epoch.
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
                Add(bump, "now", now);
                Add(bump, "shard", shard);
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
            Add(create, "shard", shard);
            Add(create, "count", shardCount);
            Add(create, "watermarks", WatermarksCodec.Encode(checkpoints));
            Add(create, "now", now);
            await create.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>The stored items among <paramref name="itemIds"/> (their ItemGrainStateCodec payloads).</summary>
    public async Task<Dictionary<string, byte[]>> LoadItemsAsync(IReadOnlyCollection<string> itemIds, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (itemIds.Count == 0)
        {
            return found;
        }

        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await foreach (var (id, _, payload) in ReadRowsAsync(connection, "reco_item", "item_id", "payload", itemIds, ct))
        {
            found[id] = payload;
        }

        return found;
    }

    /// <summary>Stores a shard's changed items and its watermarks in one transaction. Throws
    /// <see cref="PartitionFencedException"/>, storing nothing, when another activation has claimed the shard since.</summary>
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
            Add(fence, "watermarks", WatermarksCodec.Encode(write.Watermarks));
            Add(fence, "now", now);
            Add(fence, "shard", shard);
            Add(fence, "epoch", epoch);
            if (await fence.ExecuteNonQueryAsync(ct) != 1)
            {
                throw new PartitionFencedException("item shard", shard, epoch);
            }
        }

        await UpsertRowsAsync(connection, tx, "reco_item", "item_id", [("shard_id", shard)], write.Items, now, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>Up to <paramref name="limit"/> stored items whose id sorts after <paramref name="afterItemId"/> (null:
    /// from the first), in id order: a neighborhood round pages through every item this way.</summary>
    public async Task<List<(string ItemId, byte[] Payload)>> ReadItemsPageAsync(string? afterItemId, int limit, CancellationToken ct)
    {
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, afterItemId is null
            ? "SELECT item_id, payload FROM reco_item ORDER BY item_id LIMIT @limit;"
            : "SELECT item_id, payload FROM reco_item WHERE item_id > @after ORDER BY item_id LIMIT @limit;");
        Add(command, "limit", limit);
        if (afterItemId is not null)
        {
            Add(command, "after", afterItemId);
        }

        await using var reader = await command.ExecuteReaderAsync(ct);
        var page = new List<(string, byte[])>(limit);
        while (await reader.ReadAsync(ct))
        {
            page.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        }

        return page;
    }
}
