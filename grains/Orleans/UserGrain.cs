using Microsoft.Extensions.Options;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Grains.Orleans;

/// <summary>
/// The Orleans grain over <see cref="UserModel"/>. Thin: it applies a batch (window, counts and the factor step
/// against the silo's snapshot) in memory, returns its item side, stores the state when the ingress says the
/// batch's item side is safe, and answers reads from memory.
/// </summary>
/// <remarks>
/// Exactness rests on three rules. (1) A batch's state is stored only after the ingress has stored the batch's
/// item side (<see cref="StoreAsync"/>), never on its own (not on deactivation either): a user stored ahead of its
/// item side would skip that batch on a replay, and its deltas would be lost. (2) A batch applied in memory and not
/// stored is answered again from memory if the ingress sends the same batch, and dropped (the stored state is
/// reloaded) if it sends another one: that happens when a new reader took the partition over before storing the
/// item side and cut its batches differently. (3) A failed write marks the activation stale, and the next call
/// reloads the stored state first, so memory never runs ahead of storage by more than the batch in hand.
/// Placement: on the silo of the first caller, which is normally the ingress of the user's partition (a user lives on
/// one partition), so the user side of a batch is a local call. A user first asked for by the gateway stays where
/// that call put it; the ingress then calls it remotely until it is collected.
/// </remarks>
[global::Orleans.Placement.PreferLocalPlacement]
public sealed class UserGrain(
    [PersistentState("user", GrainStorageNames.Grains)] IPersistentState<PersistedUser> state,
    IOptions<UserGrainOptions> options,
    SnapshotHolder snapshots,
    ItemIdTable ids) : Grain, IUserGrain
{
    // One builder per scheduler thread: a batch is applied without an await, so nothing else uses it meanwhile, and
    // its buffers are reused instead of allocated per batch.
    [ThreadStatic]
    private static ItemSideBuilder? t_builder;

    private UserModel? _model;
    private AppliedBatch? _applied;
    private bool _stale;

    // Whether the stored state is an erased user's (no model). The stored form itself is built for each write and
    // dropped after it and after loading: the model is the state, and a copy of it per active user would double
    // their memory.
    private bool _storedErased;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        LoadModel();
        return Task.CompletedTask;
    }

    public async Task<UserBatchResult> ApplyAsync(UserEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_stale)
        {
            await ReloadAsync();
        }

        var stored = state.State;
        if (batch.BatchEnd <= stored.LastBatchEnd)
        {
            // Stored already: by this reader before it failed, or by the reader before it. Only a state stored before
            // the ingress kept item sides holds its own, for its last batch.
            var legacy = batch.BatchEnd == stored.LastBatchEnd && !batch.ItemSideStored ? stored.LegacyItemSide : null;
            return new UserBatchResult(legacy ?? ItemSide.Empty, _storedErased, Replayed: true);
        }

        if (_applied is { } applied && applied.BatchEnd != batch.BatchEnd)
        {
            // Another reader took the partition over before storing this batch's item side and cut its batches
            // differently: what memory holds beyond storage belongs to a batch that will never be stored.
            await ReloadAsync();
        }

        if (_applied is null)
        {
            _applied = new AppliedBatch(batch.BatchEnd, Apply(batch.Records));
        }

        if (batch.ItemSideStored)
        {
            await StoreAppliedAsync();
            return new UserBatchResult(ItemSide.Empty, _model is null, Replayed: false);
        }

        return new UserBatchResult(_applied.ItemSide, _model is null, Replayed: false);
    }

    public Task StoreAsync(long batchEnd)
    {
        if (!_stale && batchEnd <= state.State.LastBatchEnd)
        {
            return Task.CompletedTask;
        }

        if (_stale || _applied?.BatchEnd != batchEnd)
        {
            throw new InvalidOperationException(
                $"user {this.GetPrimaryKeyString()}: the batch ending at {batchEnd} is not applied in this activation (it was lost or never reached it); the ingress sends the batch again");
        }

        return StoreAppliedAsync();
    }

    // A model exists only once an event was applied (and not since erased), so there is no empty user to serve.
    public Task<UserHistory?> GetHistoryAsync() => Task.FromResult(_model?.GetHistory());

    public Task<RecommendationInput?> GetRecommendationInputAsync() => Task.FromResult(_model?.GetRecommendationInput());

    public async Task ForgetErasedAsync(long batchEnd)
    {
        if (!_stale && _applied is null && _storedErased && state.State.LastBatchEnd == batchEnd && state.RecordExists)
        {
            await state.ClearStateAsync();
            state.State = new PersistedUser { LastBatchEnd = batchEnd };
        }
    }

    private ItemSide Apply(IReadOnlyList<UserBatchRecord> records)
    {
        // The factor step reads the item vectors of the snapshot this silo serves. A batch recomputed after a crash
        // (its item side never stored, so never sent) may meet a newer snapshot than its first attempt did: its
        // factor gradients can differ, its counts cannot, and a batch whose item side is stored is never recomputed
        // for the items.
        var factors = snapshots.Current.Factors;
        var itemSide = t_builder is { } builder && builder.Ids == ids ? builder : t_builder = new ItemSideBuilder(ids);
        foreach (var record in records)
        {
            if (record.IsErase)
            {
                _model = null;
                continue;
            }

            _model ??= new UserModel(this.GetPrimaryKeyString(), options.Value, ids);
            _model.Apply(record.Event!, itemSide, factors);
        }

        return itemSide.Build();
    }

    private async Task StoreAppliedAsync()
    {
        var stored = state.State;
        stored.Model = _model?.ToState();
        stored.LastBatchEnd = _applied!.BatchEnd;
        stored.LegacyItemSide = null;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            _stale = true;
            throw;
        }
        finally
        {
            stored.Model = null;
        }

        _storedErased = _model is null;
        _applied = null;
    }

    private async Task ReloadAsync()
    {
        await state.ReadStateAsync();
        LoadModel();
        _applied = null;
        _stale = false;
    }

    private void LoadModel()
    {
        var stored = state.State;
        _model = stored.Model is { } model ? new UserModel(this.GetPrimaryKeyString(), options.Value, ids, model) : null;
        _storedErased = _model is null && state.RecordExists;
        stored.Model = null;
    }

    /// <summary>A batch applied in memory and not stored yet, with the item side it produced.</summary>
    private sealed record AppliedBatch(long BatchEnd, ItemSide ItemSide);
}
