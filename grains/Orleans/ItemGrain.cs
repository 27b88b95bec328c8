using Microsoft.Extensions.Options;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Grains.Orleans;

/// <summary>
/// The Orleans grain over <see cref="ItemModel"/>. Each call adds one batch's combined delta, unless the item's
/// watermark for the batch's partition says it already has it, and stores the result with the new watermark.
/// </summary>
/// <remarks>A failed write marks the activation stale and the next call reloads the stored state first, so a
/// delta is never counted in memory without being stored (and then counted again when the ingress retries).</remarks>
public sealed class ItemGrain(
    [PersistentState("item", GrainStorageNames.Grains)] IPersistentState<PersistedItem> state,
    IOptions<UserGrainOptions> options) : Grain, IItemGrain
{
    private ItemModel? _model;
    private bool _stale;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _model = NewModel();
        return Task.CompletedTask;
    }

    public async Task<bool> ApplyAsync(int sourcePartition, long batchEnd, ItemDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        if (_stale)
        {
            await state.ReadStateAsync();
            _model = NewModel();
            _stale = false;
        }

        var watermarks = state.State.Watermarks;
        if (watermarks.TryGetValue(sourcePartition, out var watermark) && batchEnd <= watermark)
        {
            return false;
        }

        _model!.Apply(delta);
        watermarks[sourcePartition] = batchEnd;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            _stale = true;
            throw;
        }

        return true;
    }

    public Task<ItemCooccurrence> GetCooccurrenceAsync(int count) => Task.FromResult(_model!.GetCooccurrence(count));

    private ItemModel NewModel() => new(this.GetPrimaryKeyString(), state.State.Model, options.Value.Factors.InitScale);
}
