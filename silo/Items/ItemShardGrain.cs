using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Grains;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using RecoCluster.Silo.Ingress;
using RecoCluster.Silo.Hosting;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Items;

/// <summary>
/// One shard of the items: the Orleans grain over <see cref="ItemShard"/>. Each call adds one batch's deltas for the
/// shard's items, unless the shard's watermark for the batch's partition says it already has them, and answers once
/// a write holding them is stored.
/// </summary>
/// <remarks>
/// <para>Group writes: every partition's ingress calls a shard once per batch, and the calls arrive together.
/// <see cref="IItemShardGrain.ApplyAsync"/> interleaves, so a call applies its deltas in memory at once and joins the
/// next write; one write runs at a time, and it stores every delta applied before it started, items and watermarks
/// in one transaction.</para>
/// <para>Exactness: a call answers only once a write that includes its deltas is stored, and the ingress checkpoints
/// only after every shard of its batch answered. A failed write loses, in memory, everything not yet stored: all
/// its callers fail, the activation is marked stale, and the next call claims the shard again and starts from what
/// is stored, so a retried batch is counted exactly once. A batch that fails halfway through being applied, or
/// a write whose rows fail halfway through taking in the batches applied since the last one (the rows merge them at
/// the write: <see cref="ItemShard.TakeWrite"/>), does the same (an allocation that fails under the pod's memory
/// limit, a malformed delta): part of it is counted in memory and the rest not, so everything applied since the last
/// write is dropped and read again from storage, and the callers waiting for that write fail and send their batches
/// again. A write refused because another activation has claimed the shard (possible for a moment while silos
/// disagree about membership) fails its callers and ends this one.</para>
/// <para>All of this runs on the grain's one scheduler thread: calls interleave only at awaits, so every block
/// between two awaits is atomic.</para>
/// </remarks>
[PartitionSpreadPlacement]
public sealed partial class ItemShardGrain(
    GrainStore store,
    ItemIdTable ids,
    IOptions<ItemShardOptions> shardOptions,
    IOptions<UserGrainOptions> userOptions,
    IOptions<IngressOptions> ingressOptions,
    TimeProvider time,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    SiloMetrics metrics,
    ItemMemoryBudget memory,
    ILogger<ItemShardGrain> logger) : Grain, IItemShardGrain
{
    private int _shard;
    private long _epoch;
    private ItemShard? _items;
    private bool _stale;
    private bool _fenced;
    private Task? _reloading;
    // The write loop, while it runs (one at a time).
    private Task _writeLoop = Task.CompletedTask;
    private TaskCompletionSource? _nextWrite;
    private long _activatedMs;
    // Whether this activation counts among its silo's shards in the item memory budget.
    private bool _counted;
    private DateTimeOffset _lastWriteStarted = DateTimeOffset.MinValue;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _shard = checked((int)this.GetPrimaryKeyLong());
        _activatedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        await ClaimAsync();
        memory.Enter();
        _counted = true;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_counted)
        {
            memory.Leave();
            _counted = false;
        }

        return Task.CompletedTask;
    }

    public Task<string> EnsureRunningAsync()
    {
        // Moves with the membership as an ingress does (PartitionIngressGrain.EnsureRunningAsync says why it migrates).
        var activeForMs = time.GetUtcNow().ToUnixTimeMilliseconds() - _activatedMs;
        if (PartitionSpreadPlacement.ShouldMove(_shard, silo.SiloAddress, activeForMs, ingressOptions.Value.KeeperIntervalMs, membership))
        {
            LogMoving(_shard, silo.SiloAddress.ToString());
            MigrateOnIdle();
        }

        return Task.FromResult(silo.SiloAddress.ToString());
    }

    public async Task<bool> ApplyAsync(int sourcePartition, long batchEnd, ItemDeltaBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var deltas = batch.Deltas;
        while (true)
        {
            if (_fenced)
            {
                throw new InvalidOperationException($"item shard {_shard}: this activation was replaced by a newer one; retry");
            }

            while (_stale)
            {
                // One claim for every call that finds the activation stale; a failed claim fails them all, and the
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

            var items = _items!;
            var missing = items.Missing(deltas.Select(d => d.ItemId));
            if (missing.Count > 0)
            {
                // Pinned while this call waits (ItemShard.Pin says why): none of the batch's items is forgotten
                // between the read and the apply, which follows the loads in the same turn.
                var batchItems = deltas.Select(d => d.ItemId).ToList();
                items.Pin(batchItems);
                try
                {
                    var stored = await store.LoadItemsAsync(missing, CancellationToken.None);
                    if (!ReferenceEquals(items, _items) || _stale)
                    {
                        continue; // the shard was reloaded meanwhile: load into the new one
                    }

                    foreach (var itemId in missing)
                    {
                        items.Load(itemId, stored.GetValueOrDefault(itemId));
                    }
                }
                finally
                {
                    items.Unpin(batchItems);
                }
            }

            ShardApplyOutcome outcome;
            try
            {
                outcome = items.Apply(sourcePartition, batchEnd, deltas);
            }
            catch (Exception e)
            {
                Discard(e, sourcePartition, batchEnd);
                throw;
            }

            switch (outcome)
            {
                case ShardApplyOutcome.Replay:
                    return false;
                case ShardApplyOutcome.NotYetStored:
                    throw new InvalidOperationException(
                        $"item shard {_shard}: the batch of events partition {sourcePartition} ending at {batchEnd} is applied but not stored yet; retry once its write has finished");
            }

            var write = _nextWrite ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_writeLoop.IsCompleted)
            {
                _writeLoop = WriteLoopAsync();
            }

            await write.Task;
            return true;
        }
    }

    public async Task<ItemCooccurrence> GetCooccurrenceAsync(string itemId, int count)
    {
        ArgumentNullException.ThrowIfNull(itemId);
        if (_items?.Find(itemId) is { } item)
        {
            return item.GetCooccurrence(count);
        }

        // Not in memory: what is stored is all there is (an item read this way is not kept).
        Dictionary<string, StoredItem> stored;
        try
        {
            stored = await store.LoadItemsAsync([itemId], CancellationToken.None);
        }
        catch (System.Data.Common.DbException e)
        {
            // As for a user: the gateway answers 503 with Retry-After, not 500.
            throw GroupCommitGrainStorage.StorageUnavailable(e, $"reading item {itemId}");
        }

        var model = new ItemModel(itemId, ids, stored.GetValueOrDefault(itemId)?.State, userOptions.Value.Factors.InitScale);
        return model.GetCooccurrence(count);
    }

    // Writes until no applied delta waits: each round stores every delta applied so far, as one consistent copy of
    // the changed items and the watermarks taken before the write starts (deltas applied while it runs wait for the
    // next), and answers their callers once it is stored.
    private async Task WriteLoopAsync()
    {
        while (_nextWrite is { } write)
        {
            // Paced (ItemShardOptions.WriteIntervalMs): calls that arrive meanwhile join this write.
            var wait = _lastWriteStarted + TimeSpan.FromMilliseconds(shardOptions.Value.WriteIntervalMs) - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time);
            }

            if (_stale)
            {
                // Discarded while it waited (a batch failed halfway): what is in memory must not be stored, and
                // this write's callers have been failed.
                return;
            }

            _lastWriteStarted = time.GetUtcNow();
            _nextWrite = null;
            var items = _items!;
            ShardWrite pending;
            try
            {
                // Taking the write merges the changed items' rows and encodes them; a failure there (an allocation
                // that fails under the pod's memory limit, an item that cannot be encoded) leaves their changes
                // neither stored nor still marked, and rows may hold part of them, so it ends like a failed write:
                // the callers fail, and the shard reads itself again.
                pending = items.TakeWrite();
                await store.CommitItemShardAsync(_shard, _epoch, pending, CancellationToken.None);
            }
            catch (Exception e)
            {
                if (e is PartitionFencedException)
                {
                    LogFenced(_shard, _epoch);
                    _fenced = true;
                    DeactivateOnIdle();
                }

                var failure = e is System.Data.Common.DbException db ? GroupCommitGrainStorage.StorageUnavailable(db, $"writing item shard {_shard}") : e;
                _stale = true;
                var later = _nextWrite;
                _nextWrite = null;
                write.SetException(failure);
                later?.SetException(failure);
                return;
            }

            items.MemoryBudget = memory.ShareBytes;
            var forgottenBefore = items.Forgotten;
            items.Written(pending);
            memory.Forgot(items.Forgotten - forgottenBefore);
            metrics.ItemsForgotten(items.Forgotten - forgottenBefore);
            metrics.Stored(StoredKind.Item, pending.Items.Sum(i => (long)i.Payload.Length));
            metrics.Stored(StoredKind.ItemLog, pending.Logs.Sum(l => (long)l.Payload.Length));
            write.SetResult();
        }
    }

    // A batch failed halfway through Apply: the shard's memory holds part of it, which no watermark records, so a
    // retry would count that part twice, and a failed allocation can leave a row's arrays out of step, so that every
    // retry fails again. Everything not stored is dropped: the next call reads the shard again from storage, and the
    // callers of the write that would have stored it fail, so that their ingresses send those batches again. A
    // write already under way took its copy before this batch and stores consistent state.
    // The flags first and the log last: after a failed allocation, the next allocation may fail too.
    private void Discard(Exception failure, int sourcePartition, long batchEnd)
    {
        _stale = true;
        var waiting = _nextWrite;
        _nextWrite = null;
        waiting?.SetException(new InvalidOperationException(
            $"item shard {_shard}: a batch failed while being applied, so what was applied since the last write is read again from storage; retry", failure));
        LogApplyFailed(failure, _shard, sourcePartition, batchEnd);
    }

    private async Task ReloadAsync()
    {
        // A write under way finishes first: claiming the shard now would fence it, and end this activation. Its
        // outcome reached its own callers; on the grain's scheduler still (the captured context).
        await _writeLoop.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        await ClaimAsync();
        _stale = false;
    }

    private async Task ClaimAsync()
    {
        ItemShardClaim claim;
        try
        {
            claim = await store.ClaimItemShardAsync(_shard, shardOptions.Value.Shards, CancellationToken.None);
        }
        catch (System.Data.Common.DbException e)
        {
            throw GroupCommitGrainStorage.StorageUnavailable(e, $"claiming item shard {_shard}");
        }

        _epoch = claim.Epoch;
        _items = new ItemShard(ids, userOptions.Value.Factors.InitScale, claim.Watermarks);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Item shard {Shard} leaves {Silo}: the membership changed and it belongs on another silo")]
    private partial void LogMoving(int shard, string silo);

    [LoggerMessage(Level = LogLevel.Error, Message = "Item shard {Shard}: the batch of events partition {Partition} ending at {BatchEnd} failed halfway through being applied; the shard is read again from storage")]
    private partial void LogApplyFailed(Exception exception, int shard, int partition, long batchEnd);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Item shard {Shard} (epoch {Epoch}) was claimed by a newer activation; this one stops")]
    private partial void LogFenced(int shard, long epoch);
}
