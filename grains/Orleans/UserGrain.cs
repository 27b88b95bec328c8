using Microsoft.Extensions.Options;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Grains.Orleans;

/// <summary>
/// The Orleans grain over <see cref="UserModel"/>. Thin: it replays nothing and decides nothing; it applies a batch
/// (window, counts and the factor step against the silo's snapshot), stores the result together with the batch's
/// end and item side, and answers reads from memory.
/// </summary>
/// <remarks>
/// Exactness rests on two rules. (1) In-memory state never runs ahead of storage for longer than one call: a
/// failed write marks the activation stale, and the next batch reloads the stored state before applying, so a
/// retried batch starts from the state the first attempt started from. (2) A batch whose end is already stored
/// is answered from storage (<see cref="PersistedUser.LastItemSide"/>), never recomputed: the window has moved on
/// and would give other deltas.
/// Placement: on the silo of the first caller, which is normally the ingress of the user's partition (a user lives on
/// one partition), so the user side of a batch is a local call. A user first asked for by the gateway stays where
/// that call put it; the ingress then calls it remotely until it is collected.
/// </remarks>
[global::Orleans.Placement.PreferLocalPlacement]
public sealed class UserGrain(
    [PersistentState("user", GrainStorageNames.Grains)] IPersistentState<PersistedUser> state,
    IOptions<UserGrainOptions> options,
    SnapshotHolder snapshots) : Grain, IUserGrain
{
    private UserModel? _model;
    private bool _stale;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _model = ModelFromState();
        return Task.CompletedTask;
    }

    public async Task<UserBatchResult> ApplyAsync(UserEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_stale)
        {
            await state.ReadStateAsync();
            _model = ModelFromState();
            _stale = false;
        }

        var stored = state.State;
        if (batch.BatchEnd == stored.LastBatchEnd)
        {
            return new UserBatchResult(stored.LastItemSide, stored.Model is null, Replayed: true);
        }

        if (batch.BatchEnd < stored.LastBatchEnd)
        {
            // Only an ingress that lost its partition (and will be fenced at its checkpoint) sends a batch older
            // than the one stored; that batch's item side was sent when it was new.
            return new UserBatchResult([], stored.Model is null, Replayed: true);
        }

        // The factor step reads the item vectors of the snapshot this silo serves. A batch recomputed after a crash
        // (never stored, so never sent) may meet a newer snapshot than its first attempt did: its factor gradients
        // can differ, its counts cannot, and a stored batch is never recomputed.
        var factors = snapshots.Current.Factors;
        var combiner = new DeltaCombiner();
        foreach (var record in batch.Records)
        {
            if (record.IsErase)
            {
                _model = null;
                continue;
            }

            _model ??= new UserModel(this.GetPrimaryKeyString(), options.Value);
            _model.Apply(record.Event!, combiner, factors);
        }

        var itemSide = combiner.DrainCopies();
        stored.Model = _model?.State;
        stored.LastBatchEnd = batch.BatchEnd;
        stored.LastItemSide = itemSide;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            _stale = true;
            throw;
        }

        return new UserBatchResult(itemSide, _model is null, Replayed: false);
    }

    // A model exists only once an event was applied (and not since erased), so there is no empty user to serve.
    public Task<UserHistory?> GetHistoryAsync() => Task.FromResult(_model?.GetHistory());

    public Task<RecommendationInput?> GetRecommendationInputAsync() => Task.FromResult(_model?.GetRecommendationInput());

    public async Task ForgetErasedAsync(long batchEnd)
    {
        if (!_stale && state.State.Model is null && state.State.LastBatchEnd == batchEnd && state.RecordExists)
        {
            await state.ClearStateAsync();
            state.State = new PersistedUser { LastBatchEnd = batchEnd };
        }
    }

    private UserModel? ModelFromState() =>
        state.State.Model is { } model ? new UserModel(this.GetPrimaryKeyString(), options.Value, model) : null;
}
