namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// A user, as callers address it (key: the user id): the window of recent distinct items, the event counts and the
/// factor vector. The user's state is held and changed by the ingress of the events partition the user's events
/// arrive on (<see cref="IPartitionIngressGrain"/>); this grain is a stateless router to it, on the caller's silo.
/// </summary>
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>The user's history, or null for a user with no events (or erased).</summary>
    Task<UserHistory?> GetHistoryAsync();
}
