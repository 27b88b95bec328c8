using System.Data.Common;

namespace RecoCluster.Silo.Storage;

/// <summary>A neighborhood round as stored.</summary>
/// <param name="Version">The snapshot version the round builds.</param>
/// <param name="State">One of <see cref="RoundStates"/>.</param>
/// <param name="Partitions">Item partitions that must each write a part per phase.</param>
/// <param name="StartedMs">When the round started (epoch ms).</param>
/// <param name="CompletedMs">When it completed, or null.</param>
/// <param name="Owner">The silo that started it.</param>
public sealed record RoundRow(long Version, string State, int Partitions, long StartedMs, long? CompletedMs, string Owner)
{
    public bool IsOpen => State is RoundStates.Counting or RoundStates.Scoring;
}

/// <summary>The states of a round, in order.</summary>
public static class RoundStates
{
    public const string Counting = "counting";
    public const string Scoring = "scoring";
    public const string Complete = "complete";
    public const string Abandoned = "abandoned";
}

/// <summary>The phases a part belongs to.</summary>
public static class RoundPhases
{
    /// <summary>Item counts of one partition.</summary>
    public const string Counts = "counts";

    /// <summary>Snapshot entries (neighbors, factors, trend) of one partition's items.</summary>
    public const string Entries = "entries";
}

// The storage side of the batch grain. Every write is conditional on an epoch in reco_partition, in the same
// statement: the coordinator's on the control partition, a participant's on its item partition. A silo that lost
// either therefore cannot publish, even if it has not noticed yet.
public sealed partial class GrainStore
{
    private const string FenceCondition = "EXISTS (SELECT 1 FROM reco_partition WHERE topic = @fence_topic AND partition_id = @fence_partition AND epoch = @fence_epoch)";

    /// <summary>The round with the highest version, or null.</summary>
    public Task<RoundRow?> LatestRoundAsync(CancellationToken ct) =>
        ReadRoundAsync("SELECT version, state, partitions, started_ms, completed_ms, owner FROM reco_round ORDER BY version DESC LIMIT 1;", null, ct);

    /// <summary>The complete round with the highest version below <paramref name="below"/>, or null.</summary>
    public Task<RoundRow?> LatestCompleteRoundAsync(long below, CancellationToken ct) =>
        ReadRoundAsync(
            $"SELECT version, state, partitions, started_ms, completed_ms, owner FROM reco_round WHERE state = '{RoundStates.Complete}' AND version < @below ORDER BY version DESC LIMIT 1;",
            c => Add(c, "below", below),
            ct);

    /// <summary>Creates a round, if <paramref name="epoch"/> is still the control partition's.</summary>
    public async Task<bool> CreateRoundAsync(string controlTopic, long epoch, RoundRow round, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(round);
        using var turn = await WriterTurnAsync(ct);
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, $"""
            INSERT INTO reco_round (version, state, partitions, started_ms, completed_ms, owner)
            SELECT @version, @state, @partitions, @started, NULL, @owner WHERE {FenceCondition};
            """);
        Add(command, "version", round.Version);
        Add(command, "state", round.State);
        Add(command, "partitions", round.Partitions);
        Add(command, "started", round.StartedMs);
        Add(command, "owner", round.Owner);
        AddFence(command, controlTopic, 0, epoch);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Moves a round from <paramref name="from"/> to <paramref name="to"/>, if <paramref name="epoch"/>
    /// is still the control partition's and the round is still in <paramref name="from"/>.</summary>
    public async Task<bool> AdvanceRoundAsync(string controlTopic, long epoch, long version, string from, string to, long? completedMs, CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, $"""
            UPDATE reco_round SET state = @to, completed_ms = @completed
             WHERE version = @version AND state = @from AND {FenceCondition};
            """);
        Add(command, "to", to);
        Add(command, "completed", (object?)completedMs ?? DBNull.Value);
        Add(command, "version", version);
        Add(command, "from", from);
        AddFence(command, controlTopic, 0, epoch);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>The item partitions that have written their part of <paramref name="phase"/> for a round.</summary>
    public async Task<HashSet<int>> RoundPartsWrittenAsync(long version, string phase, CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, "SELECT partition_id FROM reco_round_part WHERE version = @version AND phase = @phase;");
        Add(command, "version", version);
        Add(command, "phase", phase);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var result = new HashSet<int>();
        while (await reader.ReadAsync(ct))
        {
            result.Add(reader.GetInt32(0));
        }

        return result;
    }

    /// <summary>The parts of a phase (all partitions, or one).</summary>
    public async Task<List<(int Partition, byte[] Payload)>> LoadRoundPartsAsync(long version, string phase, int? partition, CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, partition is null
            ? "SELECT partition_id, payload FROM reco_round_part WHERE version = @version AND phase = @phase ORDER BY partition_id;"
            : "SELECT partition_id, payload FROM reco_round_part WHERE version = @version AND phase = @phase AND partition_id = @partition;");
        Add(command, "version", version);
        Add(command, "phase", phase);
        if (partition is { } p)
        {
            Add(command, "partition", p);
        }

        await using var reader = await command.ExecuteReaderAsync(ct);
        var result = new List<(int, byte[])>();
        while (await reader.ReadAsync(ct))
        {
            result.Add((reader.GetInt32(0), (byte[])reader.GetValue(1)));
        }

        return result;
    }

    /// <summary>Writes an item partition's part, if <paramref name="epoch"/> is still that partition's. A part
    /// already there is kept (first writer wins; both computed a consistent cut of the same partition).</summary>
    public async Task<bool> WriteRoundPartAsync(long version, string phase, string itemTopic, int partition, long epoch, byte[] payload, CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, $"""
            INSERT INTO reco_round_part (version, phase, partition_id, payload, written_ms)
            SELECT @version, @phase, @partition, @payload, @now WHERE {FenceCondition}
            ON CONFLICT (version, phase, partition_id) DO NOTHING;
            """);
        Add(command, "version", version);
        Add(command, "phase", phase);
        Add(command, "partition", partition);
        Add(command, "payload", payload);
        Add(command, "now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        AddFence(command, itemTopic, partition, epoch);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Deletes rounds (and their parts) below <paramref name="version"/>: the coordinator keeps the
    /// newest complete round and the one before it (the trend of the next round reads it).</summary>
    public async Task DeleteRoundsBelowAsync(long version, CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var sql in new[] { "DELETE FROM reco_round_part WHERE version < @version;", "DELETE FROM reco_round WHERE version < @version;" })
        {
            await using var command = Command(connection, tx, sql);
            Add(command, "version", version);
            await command.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    /// <summary>Every stored grain of one kind in one partition (a round reads a whole item partition).</summary>
    public async Task<List<(string Key, byte[] State)>> LoadPartitionGrainsAsync(string kind, string topic, int partition, CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = Command(connection, null, "SELECT grain_key, state FROM reco_grain WHERE topic = @topic AND partition_id = @partition AND kind = @kind;");
        Add(command, "topic", topic);
        Add(command, "partition", partition);
        Add(command, "kind", kind);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var result = new List<(string, byte[])>();
        while (await reader.ReadAsync(ct))
        {
            result.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        }

        return result;
    }

    private async Task<RoundRow?> ReadRoundAsync(string sql, Action<DbCommand>? parameters, CancellationToken ct)
    {
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

    private static void AddFence(DbCommand command, string topic, int partition, long epoch)
    {
        Add(command, "fence_topic", topic);
        Add(command, "fence_partition", partition);
        Add(command, "fence_epoch", epoch);
    }
}
