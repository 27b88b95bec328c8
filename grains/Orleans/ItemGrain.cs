using Microsoft.Extensions.Options;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Grains.Orleans;

/// <summary>
/// The Orleans grain over <see cref="ItemModel"/>. Each call adds one batch's combined delta, unless the item's
/// watermark for the batch's partition says it already has it, and answers once a write holding it is stored.
/// </summary>
/// <remarks>
/// <para>Group writes: every partition's ingress calls a popular item once per batch, and the calls arrive
/// together. <see cref="IItemGrain.ApplyAsync"/> interleaves, so a call applies its delta in memory at once and
/// joins the next write; one write runs at a time, and it stores every delta applied before it started. So a round
/// of 8 partitions' batches costs an item one or two writes, not 8 in a queue.</para>
/// <para>Exactness: a call answers only once a write that includes its delta is stored, and the ingress checkpoints
/// only after every item of its batch answered. A failed write loses, in memory, everything not yet stored (its
/// own deltas and those applied while it ran): all their callers fail, the activation is marked stale, and the next
/// call reloads the stored state before it applies anything, so a retried batch is counted exactly once. A call
/// for a batch that is applied in memory but not yet stored (the retry of a call that timed out while its write
/// ran) fails too and is retried by its ingress, by when the write has either stored it (then it is dropped as a
/// replay) or failed (then it is applied again).</para>
/// <para>All of this runs on the grain's one scheduler thread: calls interleave only at awaits, so every block
/// between two awaits is atomic.</para>
/// </remarks>
public sealed class ItemGrain(
    [PersistentState("item", GrainStorageNames.Grains)] IPersistentState<PersistedItem> state,
    IOptions<UserGrainOptions> options,
    ItemIdTable ids) : Grain, IItemGrain
{
    private ItemModel? _model;

    // Per events partition, the end of the last batch applied in memory, and of the last one stored.
    private Dictionary<int, long> _watermarks = [];
    private Dictionary<int, long> _storedWatermarks = [];
    private bool _stale;
    private Task? _reloading;
    private bool _writing;
    private TaskCompletionSource? _nextWrite;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Load();
        return Task.CompletedTask;
    }

    public async Task<bool> ApplyAsync(int sourcePartition, long batchEnd, ItemDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        while (_stale)
        {
            // One reload for every call that finds the activation stale; a failed reload fails them all, and the
            // next call tries again.
            var reload = _reloading ??= ReloadAsync();
            try
            {
                await reload;
            }
            finally
            {
                if (ReferenceEquals(_reloading, reload))
                {
                    _reloading = null;
                }
            }
        }

        if (_storedWatermarks.TryGetValue(sourcePartition, out var stored) && batchEnd <= stored)
        {
            return false;
        }

        if (_watermarks.TryGetValue(sourcePartition, out var applied) && batchEnd <= applied)
        {
            throw new InvalidOperationException(
                $"item {this.GetPrimaryKeyString()}: the batch of events partition {sourcePartition} ending at {batchEnd} is applied but not stored yet; retry once its write has finished");
        }

        _model!.Apply(delta);
        _watermarks[sourcePartition] = batchEnd;
        var write = _nextWrite ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_writing)
        {
            _writing = true;
            _ = WriteLoopAsync();
        }

        await write.Task;
        return true;
    }

    public Task<ItemCooccurrence> GetCooccurrenceAsync(int count) => Task.FromResult(_model!.GetCooccurrence(count));

    // Writes until no applied delta waits: each round stores every delta applied so far, as one consistent copy of
    // the model and the watermarks taken before the write starts (deltas applied while it runs wait for the next),
    // and answers their callers once it is stored.
    private async Task WriteLoopAsync()
    {
        try
        {
            while (_nextWrite is { } write)
            {
                _nextWrite = null;
                var watermarks = new Dictionary<int, long>(_watermarks);
                state.State = new PersistedItem { Model = _model!.ToState(), Watermarks = watermarks };
                try
                {
                    await state.WriteStateAsync();
                }
                catch (Exception e)
                {
                    _stale = true;
                    var later = _nextWrite;
                    _nextWrite = null;
                    write.SetException(e);
                    later?.SetException(e);
                    return;
                }
                finally
                {
                    // The stored form is built for each write; the model is the state in between.
                    state.State.Model = null;
                }

                _storedWatermarks = watermarks;
                write.SetResult();
            }
        }
        finally
        {
            _writing = false;
        }
    }

    private async Task ReloadAsync()
    {
        await state.ReadStateAsync();
        Load();
        _stale = false;
    }

    private void Load()
    {
        _model = new ItemModel(this.GetPrimaryKeyString(), ids, state.State.Model, options.Value.Factors.InitScale);
        _watermarks = new Dictionary<int, long>(state.State.Watermarks);
        _storedWatermarks = new Dictionary<int, long>(state.State.Watermarks);
        state.State.Model = null;
    }
}
