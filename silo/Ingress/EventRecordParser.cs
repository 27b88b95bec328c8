using System.Text;
using Confluent.Kafka;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Silo.Ingress;

/// <summary>What a record of the events topic is: an event, the erase command, or invalid with a reason.</summary>
/// <param name="UserId">The user the record is for (null when invalid).</param>
/// <param name="Event">The event, or null for a command or an invalid record.</param>
/// <param name="Error">Why the record is invalid, or null.</param>
public readonly record struct ParsedRecord(string? UserId, ClickEvent? Event, string? Error)
{
    public bool IsErase => Error is null && Event is null;
}

/// <summary>Reads records of the events topic: the shared event schema, the erase command, and the key rule (a
/// record is keyed by its userId, so it lands on its user's partition).</summary>
public static class EventRecordParser
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static ParsedRecord Parse(ConsumeResult<byte[]?, byte[]?> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Message.Headers?.TryGetLastBytes(EventCommands.Header, out var command) == true)
        {
            return ParseCommand(record, command);
        }

        if (record.Message.Value is null)
        {
            return new ParsedRecord(null, null, "record has no value");
        }

        if (!EventSchema.TryParse(record.Message.Value, out var evt, out var error))
        {
            return new ParsedRecord(null, null, error);
        }

        // The key decides the partition, and the partition decides which reader feeds the user. A record keyed by
        // anything but its userId would reach the user from a partition that does not own it.
        if (!string.Equals(DecodeKey(record), evt.UserId, StringComparison.Ordinal))
        {
            return new ParsedRecord(null, null, "record key must be the event's userId (UTF-8), so the event lands on its user's partition");
        }

        return new ParsedRecord(evt.UserId, evt, null);
    }

    private static ParsedRecord ParseCommand(ConsumeResult<byte[]?, byte[]?> record, byte[] command)
    {
        if (!Encoding.ASCII.GetString(command).Equals(EventCommands.Erase, StringComparison.Ordinal))
        {
            return new ParsedRecord(null, null, $"unknown command '{Encoding.ASCII.GetString(command, 0, Math.Min(command.Length, 32))}' in header {EventCommands.Header}");
        }

        if (!EventCommands.TryParseErase(record.Message.Value ?? [], out var userId, out var error))
        {
            return new ParsedRecord(null, null, $"invalid erase command: {error}");
        }

        if (!string.Equals(DecodeKey(record), userId, StringComparison.Ordinal))
        {
            return new ParsedRecord(null, null, "record key must be the erased userId (UTF-8), so the command lands on its user's partition");
        }

        return new ParsedRecord(userId, null, null);
    }

    private static string? DecodeKey(ConsumeResult<byte[]?, byte[]?> record)
    {
        try
        {
            return record.Message.Key is null ? null : StrictUtf8.GetString(record.Message.Key);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
