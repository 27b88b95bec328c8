namespace RecoCluster.Grains;

/// <summary>Tuning of <see cref="UserGrain"/>. Bound from configuration section <c>Reco:Grains:User</c>.</summary>
public sealed class UserGrainOptions
{
    /// <summary>Default window length: 20 recent distinct items is the usual size for session-style
    /// item-to-item recommenders; it bounds the co-occurrence work per event to 2×20 updates.</summary>
    public const int DefaultWindowSize = 20;

    /// <summary>Upper bound accepted by validation: a window this long makes per-event work expensive.</summary>
    public const int MaxWindowSize = 500;

    /// <summary>How many recent distinct items a user keeps.</summary>
    public int WindowSize { get; set; } = DefaultWindowSize;
}
