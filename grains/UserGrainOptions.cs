using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains;

/// <summary>Tuning of <see cref="Model.UserModel"/> and of the co-occurrence it emits. Bound from configuration section
/// <c>Reco:Grains:User</c>. The rules are in docs/algorithms.md.</summary>
public sealed class UserGrainOptions
{
    /// <summary>Default window length: 20 recent distinct items is the usual size for session-style
    /// item-to-item recommenders; it bounds the co-occurrence work per event to 2×20 updates.</summary>
    public const int DefaultWindowSize = 20;

    /// <summary>Upper bound accepted by validation: a window this long makes per-event work expensive.</summary>
    public const int MaxWindowSize = 500;

    /// <summary>Default time window: interactions a day apart still say something about each other (a return
    /// visit); interactions weeks apart mostly do not.</summary>
    public const int DefaultWindowSeconds = 86_400;

    /// <summary>Default daily cap: far above what a person does in a day on one store, far below a crawler.</summary>
    public const int DefaultMaxItemSideEventsPerDay = 500;

    /// <summary>Default sequential reach: an item counts as following each of the user's last 5 distinct items
    /// (docs/algorithms.md, "Sequential rules"; chosen on the session protocol's validation period).</summary>
    public const int DefaultSequentialSteps = 5;

    /// <summary>The integer weight of a step: an item that follows another at step g adds
    /// <see cref="SequentialWeightUnit"/> / g (integer division) to S[other][item]. 60 makes the weights exactly
    /// proportional to 1/g for g ≤ 6, and still integers, so the counts stay exact and order-independent.</summary>
    public const int SequentialWeightUnit = 60;

    /// <summary>How many recent distinct items a user keeps.</summary>
    public int WindowSize { get; set; } = DefaultWindowSize;

    /// <summary>An event co-occurs only with window items the user touched at most this many seconds before it
    /// (by event timestamps). 0 turns the time limit off.</summary>
    public int WindowSeconds { get; set; } = DefaultWindowSeconds;

    /// <summary>Events of one user per UTC day that reach the item side (counts and co-occurrence). Beyond it,
    /// the user's own history still updates. Bounds what one very active user (a bot, a crawler, a shared
    /// account) can do to everyone's neighborhoods. 0 turns the cap off.</summary>
    public int MaxItemSideEventsPerDay { get; set; } = DefaultMaxItemSideEventsPerDay;

    /// <summary>An event's item follows the user's this many most recent distinct items (its window before the
    /// event), each at its step g = 1, 2, …: the sequential counts S[before][item] that "what comes next" is built
    /// from. 0 turns sequential counting off; at most <see cref="WindowSize"/>.</summary>
    public int SequentialSteps { get; set; } = DefaultSequentialSteps;

    /// <summary>Integer weight of each event type.</summary>
    public EventWeights Weights { get; set; } = new();

    /// <summary>The online factor model (BPR): section <c>Reco:Grains:User:Factors</c>.</summary>
    public Algorithms.FactorOptions Factors { get; set; } = new();
}

/// <summary>How much each event type counts. Integers, so that counts stay exact and order-independent.</summary>
public sealed class EventWeights
{
    public int View { get; set; } = 1;

    public int Click { get; set; } = 2;

    public int AddToCart { get; set; } = 3;

    public int Purchase { get; set; } = 5;

    /// <summary>The weight of <paramref name="type"/>.</summary>
    public int For(EventType type) => type switch
    {
        EventType.View => View,
        EventType.Click => Click,
        EventType.AddToCart => AddToCart,
        EventType.Purchase => Purchase,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown event type"),
    };
}
