using System.Data.Common;

namespace RecoCluster.Silo.Storage;

/// <summary>A neighborhood round as stored.</summary>
/// <param name="Version">The snapshot version the round builds.</param>
/// <param name="State">One of <see cref="RoundStates"/>.</param>
/// <param name="Partitions">Parts the round wrote per phase; a loader takes the version only with all of them.</param>
/// <param name="StartedMs">When the round started (epoch ms).</param>
/// <param name="CompletedMs">When it completed, or null.</param>
/// <param name="Owner">The silo that started it.</param>
public sealed record RoundRow(long Version, string State, int Partitions, long StartedMs, long? CompletedMs, string Owner);

/// <summary>The states of a stored round. The round grain writes its row once, when every part is stored
/// (earlier runtimes also stored rounds in progress, as "counting", "scoring" or "abandoned").</summary>
public static class RoundStates
{
    public const string Complete = "complete";
}

/// <summary>The phases a part belongs to.</summary>
public static class RoundPhases
{
    /// <summary>Item counts of one partition.</summary>
    public const string Counts = "counts";

    /// <summary>Snapshot entries (neighbors, factors, trend) of one partition's items.</summary>
    public const string Entries = "entries";
}

// The reading side of neighborhood rounds: which version is published, its parts, and the clean-up of old ones.
// The round grain writes them (GrainStore.Orleans.cs); every silo's snapshot loader reads them.
public sealed partial class GrainStore
{
    /// <summary>The round with the highest version, or null.</summary>
    public Task<RoundRow?> LatestRoundAsync(CancellationToken ct) =>
        ReadRoundAsync("SELECT version, state, partitions, started_ms, completed_ms, owner FROM reco_round ORDER BY version DESC LIMIT 1;", null, ct);

    /// <summary>The complete round with the highest version below <paramref name="below"/>, or null.</summary>
    public Task<RoundRow?> LatestCompleteRoundAsync(long below, CancellationToken ct) =>
        ReadRoundAsync(
            $"SELECT version, state, partitions, started_ms, completed_ms, owner FROM reco_round WHERE state = '{RoundStates.Complete}' AND version < @below ORDER BY version DESC LIMIT 1;",
            c => Add(c, "@below", below),
            ct);

    /// <summary>The parts of a phase (all partitions, or one).</summary>
    public async Task<List<(int Partition, byte[] Payload)>> LoadRoundPartsAsync(long version, string phase, int? partition, CancellationToken ct)
    {
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, partition is null
            ? "SELECT partition_id, payload FROM reco_round_part WHERE version = @version AND phase = @phase ORDER BY partition_id;"
            : "SELECT partition_id, payload FROM reco_round_part WHERE version = @version AND phase = @phase AND partition_id = @partition;");
        Add(command, "@version", version);
        Add(command, "@phase", phase);
        if (partition is { } p)
        {
            Add(command, "@partition", p);
        }

        await using var reader = await command.ExecuteReaderAsync(ct);
        var result = new List<(int, byte[])>();
        while (await reader.ReadAsync(ct))
        {
            result.Add((reader.GetInt32(0), (byte[])reader.GetValue(1)));
        }

        return result;
    }

    /// <summary>Deletes rounds (and their parts) below <paramref name="version"/>: the coordinator keeps the
    /// newest complete round and the one before it (the trend of the next round reads it).</summary>
    public async Task DeleteRoundsBelowAsync(long version, CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var sql in new[] { "DELETE FROM reco_round_part WHERE version < @version;", "DELETE FROM reco_round WHERE version < @version;" })
        {
            await using var command = Command(connection, tx, sql);
            Add(command, "@version", version);
            await command.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    private async Task<RoundRow?> ReadRoundAsync(string sql, Action<DbCommand>? parameters, CancellationToken ct)
    {
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, sql);
        parameters?.Invoke(command);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        return new RoundRow(
            reader.GetInt64(0),
            reader.GetString(1),
            reader.GetInt32(2),
            reader.GetInt64(3),
            reader.IsDBNull(4) ? null : reader.GetInt64(4),
            reader.GetString(5));
    }
}
