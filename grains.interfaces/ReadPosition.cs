namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// Read-your-writes for one read of a user: the read waits until the ingress of the user's partition has applied
/// every record of the partition below <see cref="Position"/>, for at most <see cref="MaxWait"/> (and what is left
/// of <see cref="StartWait"/> more when the partition's ingress is starting), and then answers as of what it has
/// applied, saying whether it got there.
/// </summary>
/// <param name="Position">An offset of the user's events partition: every record below it is to be reflected
/// (the offset after the last event the caller knows was acknowledged; 0 waits for nothing).</param>
/// <param name="MaxWait">How long the read may wait for it.</param>
/// <param name="StartWait">How much longer the read may wait when it reaches an ingress that is starting: one just
/// activated (a partition moves when silos join or leave) whose reader has not yet applied the log it found. Such
/// an ingress is not behind, it is catching up with what its previous activation had applied; answering
/// <c>behind</c> there would take back, for the length of a move, a write the caller was told was accepted. Counted
/// from the activation's start, so only the reads of an ingress's first moments wait longer. Zero (a caller from
/// before it existed) waits only <see cref="MaxWait"/>.</param>
[GenerateSerializer, Immutable, Alias("reco.ReadPosition")]
public readonly record struct ReadPosition(long Position, TimeSpan MaxWait, TimeSpan StartWait = default)
{
    /// <summary>Read what is applied now, waiting for nothing.</summary>
    public static ReadPosition None => default;
}

/// <summary>A user's history as read at a <see cref="ReadPosition"/>.</summary>
/// <param name="History">The history, or null for a user with no events (or erased).</param>
/// <param name="Behind">True when the partition had not applied every record below the position asked for when
/// the wait ended: the answer may lack the caller's latest events.</param>
[GenerateSerializer, Immutable, Alias("reco.UserHistoryRead")]
public sealed record UserHistoryRead(UserHistory? History, bool Behind);

/// <summary>What the recommender needs from a user, read at a <see cref="ReadPosition"/>.</summary>
/// <param name="Input">The window and vector, or null for a user with no events.</param>
/// <param name="Behind">As in <see cref="UserHistoryRead"/>.</param>
[GenerateSerializer, Immutable, Alias("reco.UserInputRead")]
public sealed record UserInputRead(RecommendationInput? Input, bool Behind);
