using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>The stored state of a <see cref="UserModel"/>: plain data with item ids as strings (the model's item
/// numbers are local to its silo). Stored through <see cref="UserGrainStateCodec"/>.</summary>
public sealed class UserGrainState
{
    /// <summary>Recent distinct items, most recent first.</summary>
    public RecentItemState[] Recent { get; set; } = [];

    /// <summary>Events applied, indexed by <see cref="EventType"/>.</summary>
    public long[] Counts { get; set; } = new long[4];

    /// <summary>Epoch milliseconds of the latest applied event, or 0 when none.</summary>
    public long LastEventMs { get; set; }

    /// <summary>The UTC day (days since 1970-01-01) the daily item-side cap currently counts.</summary>
    public int CapDay { get; set; }

    /// <summary>Events of <see cref="CapDay"/> that reached the item side.</summary>
    public int CapCount { get; set; }

    /// <summary>The user's factor vector, or null until the factor model first touches the user.</summary>
    public float[]? Factors { get; set; }
}

/// <summary>One entry of <see cref="UserGrainState.Recent"/>.</summary>
public struct RecentItemState
{
    public string ItemId { get; set; }
    public EventType LastType { get; set; }
    public long LastSeenMs { get; set; }
    public int Interactions { get; set; }

    /// <summary>Whether the user bought the item while it stayed in the window (purchase co-occurrence and the
    /// "purchased" filter read it).</summary>
    public bool Purchased { get; set; }
}
