using System.Text.Json.Serialization;

namespace RecoCluster.Grains.Interfaces;

/// <summary>The kinds of clickstream event, in increasing order of intent. Serialized by wire name.</summary>
[JsonConverter(typeof(EventTypeJsonConverter))]
[GenerateSerializer, Alias("reco.EventType")]
public enum EventType
{
    /// <summary>The user looked at the item's page. Wire name <c>view</c>.</summary>
    View = 0,

    /// <summary>The user clicked the item in a list or a recommendation. Wire name <c>click</c>.</summary>
    Click = 1,

    /// <summary>The user put the item in a basket. Wire name <c>add_to_cart</c>.</summary>
    AddToCart = 2,

    /// <summary>The user bought the item. Wire name <c>purchase</c>.</summary>
    Purchase = 3,
}

/// <summary>
/// One clickstream event, as published to <c>reco.events</c> (key = <see cref="UserId"/>, value = UTF-8 JSON).
/// Instances are only created by <see cref="EventSchema"/>, so every instance is valid.
/// </summary>
/// <param name="UserId">The user; non-empty, at most 256 UTF-8 bytes, no control characters.</param>
/// <param name="ItemId">The item; same rules as <paramref name="UserId"/>.</param>
/// <param name="Type">What the user did.</param>
/// <param name="Timestamp">When it happened, in UTC, to the millisecond.</param>
/// <param name="SessionId">Optional session id; same rules as the ids when present.</param>
/// <param name="Quantity">Optional quantity (purchases, baskets).</param>
/// <param name="Price">Optional unit price.</param>
[GenerateSerializer, Immutable, Alias("reco.ClickEvent")]
public sealed record ClickEvent(
    string UserId,
    string ItemId,
    EventType Type,
    DateTimeOffset Timestamp,
    string? SessionId = null,
    int? Quantity = null,
    decimal? Price = null);

/// <summary>Maps <see cref="EventType"/> to and from its wire name.</summary>
public static class EventTypes
{
    /// <summary>The wire names, indexed by <see cref="EventType"/>.</summary>
    public static IReadOnlyList<string> WireNames { get; } = ["view", "click", "add_to_cart", "purchase"];

    /// <summary>The wire name of <paramref name="type"/>.</summary>
    public static string ToWireName(this EventType type) => WireNames[(int)type];

    /// <summary>Parses a wire name (exact, case-sensitive).</summary>
    public static bool TryParse(string? name, out EventType type)
    {
        for (var i = 0; i < WireNames.Count; i++)
        {
            if (string.Equals(WireNames[i], name, StringComparison.Ordinal))
            {
                type = (EventType)i;
                return true;
            }
        }

        type = default;
        return false;
    }
}
