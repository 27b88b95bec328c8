using Orleans.Concurrency;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// A user: the window of recent distinct items, the event counts, the daily item-side cap and the factor vector.
/// Key: the user id. Fed only by the ingress of the user's events partition, one batch at a time in log order.
/// </summary>
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>
    /// Applies the user's records of one ingress batch, stores the new state, and returns the item side the
    /// records produced. Idempotent per batch: a batch the grain has already stored (the same
    /// <see cref="UserEventBatch.BatchEnd"/>) is not applied again, and its stored item side is returned as it was,
    /// so an ingress that replays a batch after a crash sends the item grains exactly what the first attempt did.
    /// </summary>
    /// <param name="batch">The user's records of the batch, in log order.</param>
    Task<UserBatchResult> ApplyAsync(UserEventBatch batch);

    /// <summary>The user's history, or null for a user with no events (or erased). Interleaves with
    /// <see cref="ApplyAsync"/>: it reads memory only, so a query never waits behind a batch's write.</summary>
    [AlwaysInterleave]
    Task<UserHistory?> GetHistoryAsync();

    /// <summary>What the recommender needs from the user (window and vector, copied), or null for a user with no
    /// events. Interleaves with <see cref="ApplyAsync"/>, as <see cref="GetHistoryAsync"/> does.</summary>
    [AlwaysInterleave]
    Task<RecommendationInput?> GetRecommendationInputAsync();

    /// <summary>Deletes the stored row of a user erased by the batch ending at <paramref name="batchEnd"/>, once the
    /// ingress has checkpointed past it (until then the row keeps that batch's item side, without any history, so a
    /// replay of the batch stays exact). Does nothing if the user was active again since.</summary>
    Task ForgetErasedAsync(long batchEnd);
}

/// <summary>The records of one ingress batch that belong to one user.</summary>
/// <param name="Partition">The events partition the batch comes from (the user's partition).</param>
/// <param name="BatchEnd">The offset the batch ends at (exclusive): the same for every user of the batch, and the
/// same on every replay of it.</param>
/// <param name="Records">The user's records in the batch, in log order.</param>
[GenerateSerializer, Immutable, Alias("reco.UserEventBatch")]
public sealed record UserEventBatch(int Partition, long BatchEnd, IReadOnlyList<UserBatchRecord> Records);

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
/// <param name="ItemSide">The item side of the user's records, combined per item.</param>
/// <param name="Erased">Whether the batch ended with the user erased (the ingress then calls
/// <see cref="IUserGrain.ForgetErasedAsync"/> after its checkpoint).</param>
/// <param name="Replayed">Whether the grain had already stored this batch and returned its stored item side.</param>
[GenerateSerializer, Immutable, Alias("reco.UserBatchResult")]
public sealed record UserBatchResult(IReadOnlyList<ItemDelta> ItemSide, bool Erased, bool Replayed);
