using System.Text.Json;
using System.Text.Json.Serialization;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>The persistent state of a <see cref="UserModel"/>. Plain data; the runtime stores it as bytes.</summary>
[GenerateSerializer, Alias("reco.UserGrainState")]
public sealed class UserGrainState
{
    /// <summary>Recent distinct items, most recent first.</summary>
    [Id(0)]
    public List<RecentItemState> Recent { get; set; } = [];

    /// <summary>Events applied, indexed by <see cref="EventType"/>.</summary>
    [Id(1)]
    public long[] Counts { get; set; } = new long[4];

    /// <summary>Epoch milliseconds of the latest applied event, or 0 when none.</summary>
    [Id(2)]
    public long LastEventMs { get; set; }

    /// <summary>The UTC day (days since 1970-01-01) the daily item-side cap currently counts.</summary>
    [Id(3)]
    public int CapDay { get; set; }

    /// <summary>Events of <see cref="CapDay"/> that reached the item side.</summary>
    [Id(4)]
    public int CapCount { get; set; }

    /// <summary>The user's factor vector, or null until the factor model first touches the user.</summary>
    [Id(5)]
    public float[]? Factors { get; set; }
}

/// <summary>One entry of <see cref="UserGrainState.Recent"/>.</summary>
[GenerateSerializer, Alias("reco.RecentItemState")]
public sealed class RecentItemState
{
    [Id(0)]
    public required string ItemId { get; set; }

    [Id(1)]
    public EventType LastType { get; set; }

    [Id(2)]
    public long LastSeenMs { get; set; }

    [Id(3)]
    public int Interactions { get; set; }

    /// <summary>Whether the user bought the item while it stayed in the window (purchase co-occurrence and the
    /// "purchased" filter read it).</summary>
    [Id(4)]
    public bool Purchased { get; set; }
}

/// <summary>Encodes grain states as compact UTF-8 JSON: readable in the database when verifying by hand, and
/// tolerant of added fields when the state evolves.</summary>
public static class UserGrainStateCodec
{
    public static byte[] Encode(UserGrainState state) =>
        JsonSerializer.SerializeToUtf8Bytes(state, GrainStateJsonContext.Default.UserGrainState);

    public static UserGrainState Decode(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize(bytes, GrainStateJsonContext.Default.UserGrainState)
        ?? throw new InvalidDataException("stored user grain state is null");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(UserGrainState))]
internal sealed partial class GrainStateJsonContext : JsonSerializerContext;
