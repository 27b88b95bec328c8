using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Storage;
using RecoCluster.Grains.Model;

namespace RecoCluster.Silo.Runtime;

/// <summary>
/// A partition of the item-deltas topic: its item grains and, per source events partition, the watermark (end of
/// the last batch applied). A batch at or below the watermark is a re-send and is dropped; watermarks are stored
/// in the same checkpoint transaction as the item states, so "applied" and "remembered as applied" never part.
/// </summary>
internal sealed class ItemPartitionWorker(TopicPartition partition, PartitionClaim claim, WorkerContext context)
    : PartitionWorker(partition, claim, context, context.Loggers.CreateLogger<ItemPartitionWorker>())
{
    internal const string GrainKind = "item";

    private readonly GrainCache<ItemModel> _grains = new();
    private readonly HashSet<int> _dirtyWatermarks = [];
    private Dictionary<int, long> _watermarks = [];

    /// <summary>
    /// Every item of the partition at this turn's cut: the stored rows, overridden by the grains in memory (an
    /// active grain is at least as new as its row). Run it through <see cref="PartitionWorker.QueryAsync{T}"/>: in
    /// the partition's turn, no delta lands halfway through, so the result is the effect of a prefix of the
    /// partition's log, the same cut for every item. A neighborhood round reads a partition this way.
    /// </summary>
    public async Task<List<(string ItemId, ItemGrainState State)>> ReadAllItemsAsync()
    {
        var stored = await Context.Store.LoadPartitionGrainsAsync(GrainKind, Partition.Topic, Partition.Partition.Value, CancellationToken.None).ConfigureAwait(false);
        var items = new Dictionary<string, ItemGrainState>(stored.Count, StringComparer.Ordinal);
        foreach (var (key, state) in stored)
        {
            items[key] = ItemCodec.Decode(state);
        }

        foreach (var (key, grain) in _grains.All())
        {
            items[key] = grain.State;
        }

        return [.. items.Select(kv => (kv.Key, kv.Value))];
    }

    /// <summary>The item's count and row, or null for an item with no state. Run it through <see cref="PartitionWorker.QueryAsync{T}"/>.</summary>
    public async Task<ItemCooccurrence?> GetCooccurrenceAsync(string itemId, int count) =>
        (await ActivateAsync(itemId, create: false).ConfigureAwait(false))?.GetCooccurrence(count);

    protected override bool HasChanges => _grains.DirtyCount > 0 || _dirtyWatermarks.Count > 0;

    protected override async Task InitializeAsync() =>
        _watermarks = await WithRetryAsync(() => Context.Store.LoadWatermarksAsync(Partition.Topic, Partition.Partition.Value, CancellationToken.None), "watermark load").ConfigureAwait(false);

    protected override async Task ApplyAsync(ConsumeResult<byte[]?, byte[]?> record)
    {
        ItemDeltaBatch batch;
        try
        {
            batch = ItemCodec.DecodeBatch(record.Message.Value ?? []);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            // Only silos write this topic, so this is a bug or a foreign writer: keep the record, say why.
            Logger.LogError(ex, "Undecodable shuffle record {Topic}[{Partition}]@{Offset}", record.Topic, record.Partition.Value, record.Offset.Value);
            await Context.DeadLetters.SendAsync(record, $"undecodable item delta batch: {ex.Message}").ConfigureAwait(false);
            return;
        }

        if (batch.BatchEnd <= _watermarks.GetValueOrDefault(batch.SourcePartition, -1))
        {
            Context.Stats.OnDuplicateBatchDropped();
            return;
        }

        foreach (var delta in batch.Items)
        {
            var grain = (await ActivateAsync(delta.ItemId, create: true).ConfigureAwait(false))!;
            grain.Apply(delta);
            _grains.MarkDirty(delta.ItemId);
        }

        _watermarks[batch.SourcePartition] = batch.BatchEnd;
        _dirtyWatermarks.Add(batch.SourcePartition);
        Context.Stats.OnDeltaBatchApplied();
    }

    protected override Task<Checkpoint> PrepareCheckpointAsync(long nextOffset, bool final)
    {
        var writes = _grains.Dirty().Select(g => new GrainWrite(GrainKind, g.Key, ItemCodec.Encode(g.Grain.State))).ToList();
        var watermarks = _dirtyWatermarks.ToDictionary(p => p, p => _watermarks[p]);
        return Task.FromResult(new Checkpoint(Partition.Topic, Partition.Partition.Value, Epoch, nextOffset, writes, Watermarks: watermarks));
    }

    protected override Task OnCommittedAsync(Checkpoint checkpoint, bool final)
    {
        _grains.ClearDirty();
        _dirtyWatermarks.Clear();
        return Task.CompletedTask;
    }

    protected override void OnFenced()
    {
        _grains.Clear();
        _dirtyWatermarks.Clear();
        ActiveGrains = 0;
    }

    protected override int EvictIdle(long usedBefore)
    {
        var evicted = _grains.EvictIdle(usedBefore);
        ActiveGrains = _grains.Count;
        return evicted;
    }

    private async Task<ItemModel?> ActivateAsync(string itemId, bool create)
    {
        if (_grains.TryGet(itemId, Now, out var grain))
        {
            return grain;
        }

        var stored = create
            ? await WithRetryAsync(() => Context.Store.LoadGrainAsync(GrainKind, itemId, CancellationToken.None), "item grain load").ConfigureAwait(false)
            : await Context.Store.LoadGrainAsync(GrainKind, itemId, CancellationToken.None).ConfigureAwait(false);
        if (stored is null && !create)
        {
            return null;
        }

        grain = new ItemModel(itemId, stored is null ? null : ItemCodec.Decode(stored), Context.FactorInitScale);
        _grains.Add(itemId, grain, Now);
        ActiveGrains = _grains.Count;
        Context.Stats.OnItemActivation();
        return grain;
    }
}
