using System.Data;
using System.Data.Common;

namespace RecoCluster.Silo.Storage;

/// <summary>A stored Orleans grain state: its version (the ETag) and its payload.</summary>
public readonly record struct StoredGrainState(long Version, byte[] Payload);

/// <summary>One write of a group commit: an upsert of <paramref name="Payload"/>, or a delete when it is null,
/// conditional on the row being at <paramref name="ExpectedVersion"/> (null: the row must not exist).</summary>
public sealed record GrainStateWrite(string StateName, string GrainId, long? ExpectedVersion, byte[]? Payload);

/// <summary>The outcome of one <see cref="GrainStateWrite"/>: the row's new version (null after a delete), or a
/// conflict when the row was not at the expected version (nothing of it was written).</summary>
public readonly record struct GrainStateWriteResult(bool Conflict, long? Version);

/// <summary>A partition ingress's claim: its epoch, where the stored grains are consistent to, and the batch that
/// was in flight when the previous reader stopped: its end (it must be cut again, with the same end) and its stored
/// item side (null when none was stored).</summary>
public readonly record struct IngressClaim(long Epoch, long NextOffset, long? PendingEnd, byte[]? PendingItemSide = null);

// The Orleans runtime's side of the store: grain state rows for GroupCommitGrainStorage and the partition
// ingresses' checkpoints. Everything that writes takes the writer's turn, as the rest of the store does.
public sealed partial class GrainStore
{
    /// <summary>Reads a grain's stored state, or null when it has none.</summary>
    public async Task<StoredGrainState?> ReadGrainStateAsync(string stateName, string grainId, CancellationToken ct)
    {
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, "SELECT version, payload FROM reco_grain_state WHERE state_name = @name AND grain_id = @id;");
        Add(command, "@name", stateName);
        Add(command, "@id", grainId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new StoredGrainState(reader.GetInt64(0), (byte[])reader.GetValue(1)) : null;
    }

    /// <summary>
    /// Writes many grain states in one transaction (one commit, one fsync). Each write is conditional on its own
    /// expected version; a conflict refuses that write only, and the others commit.
    /// </summary>
    public async Task<GrainStateWriteResult[]> WriteGrainStatesAsync(IReadOnlyList<GrainStateWrite> writes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var results = new GrainStateWriteResult[writes.Count];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);

        // SQLite runs in this process, so a statement per row costs no round trip (and its UPDATE ... FROM measured
        // slower than one UPDATE per row). PostgreSQL pays a round trip per statement: there, inserts and updates go
        // RowsPerStatement to a statement, each row still conditional on its own version (docs/benchmarks.md). A
        // grain written twice in one group (two activations of it) has its second write in a later pass, so a
        // statement never holds a key twice and the order is kept.
        if (Provider == StorageProvider.Sqlite)
        {
            for (var i = 0; i < writes.Count; i++)
            {
                results[i] = await WriteGrainStateAsync(connection, tx, writes[i], now, ct);
            }

            await tx.CommitAsync(ct);
            return results;
        }

        var pending = Enumerable.Range(0, writes.Count).ToList();
        while (pending.Count > 0)
        {
            var keys = new HashSet<(string, string)>();
            var inserts = new List<int>();
            var updates = new List<int>();
            var later = new List<int>();
            foreach (var i in pending)
            {
                var write = writes[i];
                if (!keys.Add((write.StateName, write.GrainId)))
                {
                    later.Add(i);
                }
                else if (write.Payload is null)
                {
                    results[i] = await WriteGrainStateAsync(connection, tx, write, now, ct); // a delete (rare: erasure)
                }
                else
                {
                    (write.ExpectedVersion is null ? inserts : updates).Add(i);
                }
            }

            foreach (var chunk in inserts.Chunk(RowsPerStatement))
            {
                await WriteRowsAsync(connection, tx, writes, chunk, insert: true, now, results, ct);
            }

            foreach (var chunk in updates.Chunk(RowsPerStatement))
            {
                await WriteRowsAsync(connection, tx, writes, chunk, insert: false, now, results, ct);
            }

            pending = later;
        }

        await tx.CommitAsync(ct);
        return results;
    }

    /// <summary>Rows per multi-row statement: 4 parameters each, far below SQLite's and PostgreSQL's limits.</summary>
    private const int RowsPerStatement = 200;

    // One statement for many rows. Inserts need the row to be absent, updates need it at the expected version; the
    // statement returns the keys it wrote, and every other row of it is a conflict.
    private static async Task WriteRowsAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<GrainStateWrite> writes, int[] chunk, bool insert, long now, GrainStateWriteResult[] results, CancellationToken ct)
    {
        var rows = new System.Text.StringBuilder();
        await using var command = Command(connection, tx, string.Empty);
        for (var r = 0; r < chunk.Length; r++)
        {
            var write = writes[chunk[r]];
            rows.Append(r == 0 ? string.Empty : ", ").Append(insert ? $"(@n{r}, @i{r}, 1, @p{r}, @now)" : $"(@n{r}, @i{r}, @e{r}, @p{r})");
            Add(command, $"@n{r}", write.StateName);
            Add(command, $"@i{r}", write.GrainId);
            Add(command, $"@p{r}", write.Payload!);
            if (!insert)
            {
                Add(command, $"@e{r}", write.ExpectedVersion!.Value);
            }
        }

        Add(command, "@now", now);
        command.CommandText = insert
            ? $"""
                INSERT INTO reco_grain_state (state_name, grain_id, version, payload, updated_ms) VALUES {rows}
                ON CONFLICT (state_name, grain_id) DO NOTHING
                RETURNING state_name, grain_id;
                """
            : $"""
                WITH v (n, id, expected, p) AS (VALUES {rows})
                UPDATE reco_grain_state SET version = version + 1, payload = v.p, updated_ms = @now
                  FROM v
                 WHERE state_name = v.n AND grain_id = v.id AND version = v.expected
                RETURNING state_name, grain_id;
                """;
        var written = new HashSet<(string, string)>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                written.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        foreach (var i in chunk)
        {
            var write = writes[i];
            results[i] = written.Contains((write.StateName, write.GrainId))
                ? new GrainStateWriteResult(false, (write.ExpectedVersion ?? 0) + 1)
                : new GrainStateWriteResult(true, null);
        }
    }

    private static async Task<GrainStateWriteResult> WriteGrainStateAsync(DbConnection connection, DbTransaction tx, GrainStateWrite write, long now, CancellationToken ct)
    {
        string sql;
        if (write.Payload is null)
        {
            if (write.ExpectedVersion is null)
            {
                return new GrainStateWriteResult(false, null);
            }

            sql = "DELETE FROM reco_grain_state WHERE state_name = @name AND grain_id = @id AND version = @expected;";
        }
        else if (write.ExpectedVersion is null)
        {
            sql = """
                INSERT INTO reco_grain_state (state_name, grain_id, version, payload, updated_ms)
                VALUES (@name, @id, 1, @payload, @now)
                ON CONFLICT (state_name, grain_id) DO NOTHING;
                """;
        }
        else
        {
            sql = """
                UPDATE reco_grain_state SET version = version + 1, payload = @payload, updated_ms = @now
                 WHERE state_name = @name AND grain_id = @id AND version = @expected;
                """;
        }

        await using var command = Command(connection, tx, sql);
        Add(command, "@name", write.StateName);
        Add(command, "@id", write.GrainId);
        if (write.ExpectedVersion is { } expected)
        {
            Add(command, "@expected", expected);
        }

        if (write.Payload is not null)
        {
            Add(command, "@payload", write.Payload);
            Add(command, "@now", now);
        }

        if (await command.ExecuteNonQueryAsync(ct) != 1)
        {
            return new GrainStateWriteResult(true, null);
        }

        return new GrainStateWriteResult(false, write.Payload is null ? null : (write.ExpectedVersion ?? 0) + 1);
    }

    /// <summary>Stores one part of a snapshot version that is not published yet. Unconditional: only the round
    /// grain activation that claimed the version (through its own grain state's ETag) writes its parts.</summary>
    public async Task WriteSnapshotPartAsync(long version, int part, byte[] payload, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(payload);
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, """
            INSERT INTO reco_round_part (version, phase, partition_id, payload, written_ms)
            VALUES (@version, @phase, @part, @payload, @now)
            ON CONFLICT (version, phase, partition_id) DO UPDATE SET payload = excluded.payload, written_ms = excluded.written_ms;
            """);
        Add(command, "@version", version);
        Add(command, "@phase", RoundPhases.Entries);
        Add(command, "@part", part);
        Add(command, "@payload", payload);
        Add(command, "@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Publishes a snapshot version whose parts are all stored: one row, so silos see the version whole or
    /// not at all. False when the version exists already (published by another activation).</summary>
    public async Task<bool> PublishRoundAsync(RoundRow round, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(round);
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, """
            INSERT INTO reco_round (version, state, partitions, started_ms, completed_ms, owner)
            VALUES (@version, @state, @partitions, @started, @completed, @owner)
            ON CONFLICT (version) DO NOTHING;
            """);
        Add(command, "@version", round.Version);
        Add(command, "@state", round.State);
        Add(command, "@partitions", round.Partitions);
        Add(command, "@started", round.StartedMs);
        Add(command, "@completed", (object?)round.CompletedMs ?? DBNull.Value);
        Add(command, "@owner", round.Owner);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Claims an events partition for a new ingress reader: bumps its epoch, fencing every earlier reader,
    /// and returns where to resume.</summary>
    public async Task<IngressClaim> ClaimIngressAsync(int partition, CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, """
            INSERT INTO reco_ingress (partition_id, epoch, next_offset, pending_end, updated_ms)
            VALUES (@partition, 1, -1, NULL, @now)
            ON CONFLICT (partition_id) DO UPDATE SET epoch = reco_ingress.epoch + 1, updated_ms = excluded.updated_ms
            RETURNING epoch, next_offset, pending_end, pending_item_side;
            """);
        Add(command, "@partition", partition);
        Add(command, "@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            throw new InvalidOperationException($"claiming events partition {partition} returned no row");
        }

        return new IngressClaim(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.IsDBNull(3) ? null : (byte[])reader.GetValue(3));
    }

    /// <summary>Moves the partition's checkpoint to <paramref name="batchEnd"/> once the batch's users are stored and
    /// every item shard of the batch has stored its items, and clears the pending batch (alone when the partition is
    /// idle; otherwise the checkpoint goes with the next batch's users). Throws <see cref="PartitionFencedException"/>
    /// when another reader has claimed the partition since.</summary>
    public Task CommitIngressBatchAsync(int partition, long epoch, long batchEnd, CancellationToken ct) =>
        UpdateIngressAsync(partition, epoch, "next_offset = @end, pending_end = NULL, pending_item_side = NULL", batchEnd, ct);

    /// <summary>Throws <see cref="PartitionFencedException"/> unless <paramref name="epoch"/> still holds the
    /// partition; writes nothing else.</summary>
    public Task CheckIngressEpochAsync(int partition, long epoch, CancellationToken ct) =>
        UpdateIngressAsync(partition, epoch, "epoch = epoch", 0, ct);

    private async Task UpdateIngressAsync(int partition, long epoch, string set, long batchEnd, CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, $"UPDATE reco_ingress SET {set}, updated_ms = @now WHERE partition_id = @partition AND epoch = @epoch;");
        Add(command, "@end", batchEnd);

        Add(command, "@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Add(command, "@partition", partition);
        Add(command, "@epoch", epoch);
        if (await command.ExecuteNonQueryAsync(ct) != 1)
        {
            throw new PartitionFencedException("events partition", partition, epoch);
        }
    }

    /// <summary>Every ingress checkpoint: partition → (epoch, next offset, pending end).</summary>
    public async Task<IReadOnlyDictionary<int, IngressClaim>> ReadIngressCheckpointsAsync(CancellationToken ct)
    {
        var result = new Dictionary<int, IngressClaim>();
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, "SELECT partition_id, epoch, next_offset, pending_end FROM reco_ingress;");
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetInt32(0)] = new IngressClaim(reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3));
        }

        return result;
    }
}
