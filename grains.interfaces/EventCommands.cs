using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// Commands that travel on the events topic between events, so that they apply in log order with them. A command
/// record carries the header <see cref="Header"/> (its value names the command) and is keyed by the user it
/// concerns, so it lands on that user's partition, behind every event produced before it.
/// </summary>
/// <remarks>
/// A command's value is deliberately not a valid event (it has no <c>itemId</c>, <c>type</c> or
/// <c>timestamp</c>): a consumer that does not know commands, such as an older silo, judges it an invalid event
/// and dead-letters it instead of counting it as a click.
/// </remarks>
public static class EventCommands
{
    /// <summary>The record header naming the command. Records without it are events.</summary>
    public const string Header = "reco-command";

    /// <summary>Erase a user: drop the user's model and stored row; later events start a fresh history.</summary>
    public const string Erase = "erase";

    /// <summary>The value of an erase command for <paramref name="userId"/>:
    /// <c>{"command":"erase","userId":"…"}</c>.</summary>
    public static byte[] EncodeErase(string userId)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("command", Erase);
            writer.WriteString("userId", userId);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads the user id of an erase command's value; false, with the reason, when it is not one.</summary>
    public static bool TryParseErase(
        ReadOnlySpan<byte> value,
        [NotNullWhen(true)] out string? userId,
        [NotNullWhen(false)] out string? error)
    {
        userId = null;
        try
        {
            var reader = new Utf8JsonReader(value, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "an erase command must be a JSON object";
                return false;
            }

            string? command = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var field = reader.GetString();
                reader.Read();
                switch (field)
                {
                    case "command" when reader.TokenType == JsonTokenType.String:
                        command = reader.GetString();
                        break;
                    case "userId" when reader.TokenType == JsonTokenType.String:
                        userId = reader.GetString();
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            _ = reader.Read();
            if (command != Erase)
            {
                error = $"field 'command' must be '{Erase}'";
                userId = null;
                return false;
            }

            error = EventSchema.ValidateId("userId", userId);
            if (error is not null || userId is null)
            {
                error ??= "field 'userId' is required";
                userId = null;
                return false;
            }

            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            userId = null;
            error = $"malformed JSON: {ex.Message}";
            return false;
        }
    }
}
