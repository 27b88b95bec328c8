using System.Text.Json;
using System.Text.Json.Serialization;

namespace RecoCluster.Grains.Interfaces;

/// <summary>Writes and reads <see cref="EventType"/> as its wire name (<c>add_to_cart</c>, …) in HTTP answers.</summary>
public sealed class EventTypeJsonConverter : JsonConverter<EventType>
{
    /// <inheritdoc />
    public override EventType Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        EventTypes.TryParse(reader.GetString(), out var type) ? type : throw new JsonException($"unknown event type '{reader.GetString()}'");

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, EventType value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToWireName());
    }
}
