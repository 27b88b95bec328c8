using System.Data;
using RecoCluster.Grains.Model;
using RecoCluster.Silo.Items;

namespace RecoCluster.Silo.Storage;

// Versions before 2026-12 kept users and items as Orleans grain state (reco_grain_state, JSON). They are moved to
// reco_user and reco_item once, when a silo of this version starts.
public sealed partial class GrainStore
{
    private const int LegacyRowsPerPage = 1_000;

    /// <summary>
    /// Moves the users and items a version before 2026-12 stored as grain state into <c>reco_user</c> and
    /// <c>reco_item</c>, page by page, each page in one transaction (so a silo killed meanwhile leaves every row in
    /// one place or the other, and the next start goes on). Refuses to, saying what to do, while a partition has a
    /// batch that such a version began and did not finish: its item side is kept by its users, in a form this
    /// version cannot send on. Does nothing on a database that has no such rows.
    /// </summary>
    public async Task MoveLegacyStatesAsync(int itemShards, CancellationToken ct)
    {
        using var turn = await WriterTurnAsync(ct);
        await OffGrainTurn();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        if (Provider == StorageProvider.Postgres)
        {
            // Silos starting together would otherwise move the same rows.
            await using var tx0 = await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, tx0, $"SELECT pg_advisory_xact_lock({MigrationLockKey});", ct);
            await MoveAsync(tx0);
            await tx0.CommitAsync(ct);
            return;
        }

        await MoveAsync(null);

        async Task MoveAsync(System.Data.Common.DbTransaction? outer)
        {
            var legacy = Convert.ToInt64(await ScalarAsync(connection, outer, "SELECT COUNT(*) FROM reco_grain_state WHERE state_name IN ('user', 'item');", ct), System.Globalization.CultureInfo.InvariantCulture);
            if (legacy == 0)
            {
                return;
            }

            var unfinished = Convert.ToInt64(await ScalarAsync(connection, outer, "SELECT COUNT(*) FROM reco_ingress WHERE pending_end IS NOT NULL AND pending_item_side IS NULL;", ct), System.Globalization.CultureInfo.InvariantCulture);
            if (unfinished > 0)
            {
                throw new InvalidOperationException(
                    $"{unfinished} events partition(s) have a batch that a version of RecoCluster before 2026-12 began and did not finish. " +
                    "Start that version again until every partition has checkpointed (no lag in GET /v1/admin/cluster), stop it, then start this one (docs/operations.md, \"Upgrading\").");
            }

            while (true)
            {
                var rows = new List<(string State, string GrainId, byte[] Payload)>();
                await using (var page = Command(connection, outer, "SELECT state_name, grain_id, payload FROM reco_grain_state WHERE state_name IN ('user', 'item') ORDER BY state_name, grain_id LIMIT @limit;"))
                {
                    Add(page, "@limit", LegacyRowsPerPage);
                    await using var reader = await page.ExecuteReaderAsync(ct);
                    while (await reader.ReadAsync(ct))
                    {
                        rows.Add((reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2)));
                    }
                }

                if (rows.Count == 0)
                {
                    return;
                }

                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                await using var tx = outer is null ? await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct) : null;
                var inner = outer ?? tx!;
                foreach (var (state, grainId, payload) in rows)
                {
                    // Orleans wrote a grain id as "type/key"; the key is the user or item id.
                    var id = grainId[(grainId.IndexOf('/', StringComparison.Ordinal) + 1)..];
                    if (state == "user")
                    {
                        var (model, lastBatchEnd) = LegacyJsonStates.User(payload, $"user state of {grainId}");
                        if (model is not null)
                        {
                            await UpsertRowsAsync(connection, inner, "reco_user", "user_id", [("last_batch_end", lastBatchEnd)], [(id, UserGrainStateCodec.Encode(model))], now, ct);
                        }
                    }
                    else
                    {
                        var model = LegacyJsonStates.Item(payload, $"item state of {grainId}");
                        await UpsertRowsAsync(connection, inner, "reco_item", "item_id", [("shard_id", ItemShards.Of(id, itemShards))], [(id, ItemGrainStateCodec.Encode(model))], now, ct);
                    }

                    await using var delete = Command(connection, inner, "DELETE FROM reco_grain_state WHERE state_name = @state AND grain_id = @id;");
                    Add(delete, "@state", state);
                    Add(delete, "@id", grainId);
                    await delete.ExecuteNonQueryAsync(ct);
                }

                if (tx is not null)
                {
                    await tx.CommitAsync(ct);
                }
            }
        }
    }
}
