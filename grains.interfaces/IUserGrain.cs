using Orleans.Concurrency;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// A user: the window of recent distinct items, the event counts, the daily item-side cap and the factor vector.
/// Key: the user id. Fed only by the ingress of the user's events partition, one batch at a time in log order.
/// </summary>
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>
    /// Applies the user's records of one ingress batch and returns the item side they produced. The new state is
    /// kept in memory until <see cref="StoreAsync"/>: the ingress stores the batch's item side first, so that state
    /// never reaches storage before the item side it produced is safe. Idempotent per batch: a batch already
    /// applied in memory answers with the item side it produced then, and one already stored answers
    /// <see cref="UserBatchResult.Replayed"/> without applying anything. With
    /// <see cref="UserEventBatch.ItemSideStored"/> the grain applies what it has not applied yet and stores it in
    /// the same call (a batch the ingress replays from its stored item side).
    /// </summary>
    /// <param name="batch">The user's records of the batch, in log order.</param>
    Task<UserBatchResult> ApplyAsync(UserEventBatch batch);

    /// <summary>Stores the state of the batch ending at <paramref name="batchEnd"/>, which <see cref="ApplyAsync"/>
    /// applied in memory, once the ingress has stored the batch's item side. Does nothing when it is stored already;
    /// fails when this activation does not hold it (it was lost with its silo, or collected): the ingress then sends
    /// the batch again.</summary>
    Task StoreAsync(long batchEnd);

    /// <summary>The user's history, or null for a user with no events (or erased). Interleaves with
    /// <see cref="ApplyAsync"/>: it reads memory only, so a query never waits behind a batch's write.</summary>
    [AlwaysInterleave]
    Task<UserHistory?> GetHistoryAsync();

    /// <summary>What the recommender needs from the user (window and vector, copied), or null for a user with no
    /// events. Interleaves with <see cref="ApplyAsync"/>, as <see cref="GetHistoryAsync"/> does.</summary>
    [AlwaysInterleave]
    Task<RecommendationInput?> GetRecommendationInputAsync();

    /// <summary>Deletes the stored row of a user erased by the batch ending at <paramref name="batchEnd"/>, once the
    /// ingress has checkpointed past it (until then the row, which holds no history, keeps the batch's end, so a
    /// replay of the batch does not apply it twice). Does nothing if the user was active again since.</summary>
    Task ForgetErasedAsync(long batchEnd);
}

/// <summary>The records of one ingress batch that belong to one user.</summary>
/// <param name="Partition">The events partition the batch comes from (the user's partition).</param>
/// <param name="BatchEnd">The offset the batch ends at (exclusive): the same for every user of the batch, and the
/// same on every replay of it.</param>
/// <param name="Records">The user's records in the batch, in log order.</param>
/// <param name="ItemSideStored">Whether the ingress has stored the batch's item side already (a replay): then the
/// grain stores its state in the same call and returns no item side.</param>
[GenerateSerializer, Immutable, Alias("reco.UserEventBatch")]
public sealed record UserEventBatch(int Partition, long BatchEnd, IReadOnlyList<UserBatchRecord> Records, bool ItemSideStored = false);

/// <summary>One record of a <see cref="UserEventBatch"/>: an event, or the erase command.</summary>
/// <param name="Offset">The record's offset in its partition.</param>
/// <param name="Event">The event, or null for the erase command.</param>
[GenerateSerializer, Immutable, Alias("reco.UserBatchRecord")]
public sealed record UserBatchRecord(long Offset, ClickEvent? Event)
{
    /// <summary>Whether the record is the erase command (<c>DELETE /v1/users/{id}</c>).</summary>
    public bool IsErase => Event is null;
}

/// <summary>What a user grain returns for a batch.</summary>
/// <param name="ItemSide">The item side of the user's records: empty when
/// <paramref name="Replayed"/> (except for a state stored before the ingress stored item sides, which kept its own:
/// then that one) and when the ingress said it has the batch's item side stored.</param>
/// <param name="Erased">Whether the batch ended with the user erased (the ingress then calls
/// <see cref="IUserGrain.ForgetErasedAsync"/> after its checkpoint).</param>
/// <param name="Replayed">Whether the grain had already stored this batch (or a later one) before the call.</param>
[GenerateSerializer, Immutable, Alias("reco.UserBatchResult")]
public sealed record UserBatchResult(ItemSide ItemSide, bool Erased, bool Replayed);
