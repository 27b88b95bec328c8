using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// The wire schema of <see cref="ClickEvent"/>: strict parsing with a human-readable reason on failure, and the
/// canonical serialization. Gateway and silos share it, so "valid" means the same thing at both ends.
/// </summary>
/// <remarks>
/// Only time-independent rules live here. A silo must judge a record the same way on first delivery and on a
/// replay months later, so "too far in the future" (which depends on the clock) is the gateway's check, not
/// the schema's.
/// </remarks>
public static class EventSchema
{
    /// <summary>Maximum length of an id, in UTF-8 bytes.</summary>
    public const int MaxIdBytes = 256;

    /// <summary>Earliest accepted timestamp (inclusive).</summary>
    public static readonly DateTimeOffset MinTimestamp = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Latest accepted timestamp (exclusive).</summary>
    public static readonly DateTimeOffset MaxTimestamp = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 16 };

    /// <summary>Parses one event from a complete UTF-8 JSON document.</summary>
    public static bool TryParse(
        ReadOnlySpan<byte> utf8Json,
        [NotNullWhen(true)] out ClickEvent? evt,
        [NotNullWhen(false)] out string? error)
    {
        evt = null;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
            if (!reader.Read())
            {
                error = "the event is empty";
                return false;
            }

            if (!TryRead(ref reader, out evt, out error))
            {
                return false;
            }

            // In single-value mode the reader throws on anything but white space after the object.
            _ = reader.Read();
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            evt = null;
            error = $"malformed JSON: {ex.Message}";
            return false;
        }
    }

    /// <summary>
    /// Reads one event from <paramref name="reader"/>, which must be on the token that starts it. Whether or not
    /// the event is valid, the reader is left on the last token of that value (the object's closing brace), so
    /// a caller can go on to the next element of an array. Throws <see cref="JsonException"/> on malformed JSON.
    /// </summary>
    public static bool TryRead(
        ref Utf8JsonReader reader,
        [NotNullWhen(true)] out ClickEvent? evt,
        [NotNullWhen(false)] out string? error)
    {
        var depth = reader.CurrentDepth;
        var isObject = reader.TokenType == JsonTokenType.StartObject;
        if (TryReadCore(ref reader, out evt, out error))
        {
            return true;
        }

        if (!isObject)
        {
            reader.Skip();
            return false;
        }

        while (!(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth) && reader.Read())
        {
        }

        return false;
    }

    private static bool TryReadCore(
        ref Utf8JsonReader reader,
        [NotNullWhen(true)] out ClickEvent? evt,
        [NotNullWhen(false)] out string? error)
    {
        evt = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = $"an event must be a JSON object, not {Describe(reader.TokenType)}";
            return false;
        }

        string? userId = null, itemId = null, sessionId = null, typeName = null;
        DateTimeOffset? timestamp = null;
        int? quantity = null;
        decimal? price = null;
        var seen = 0;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = reader.GetString()!;
            reader.Read();
            var bit = field switch
            {
                "userId" => 1,
                "itemId" => 2,
                "type" => 4,
                "timestamp" => 8,
                "sessionId" => 16,
                "quantity" => 32,
                "price" => 64,
                _ => 0,
            };
            if (bit == 0)
            {
                // Unknown fields are ignored so producers can add fields before consumers know them.
                reader.Skip();
                continue;
            }

            if ((seen & bit) != 0)
            {
                error = $"field '{field}' appears twice";
                return false;
            }

            seen |= bit;
            error = field switch
            {
                "userId" => ReadId(ref reader, field, required: true, out userId),
                "itemId" => ReadId(ref reader, field, required: true, out itemId),
                "sessionId" => ReadId(ref reader, field, required: false, out sessionId),
                "type" => ReadString(ref reader, field, out typeName),
                "timestamp" => ReadTimestamp(ref reader, out timestamp),
                "quantity" => ReadQuantity(ref reader, out quantity),
                _ => ReadPrice(ref reader, out price),
            };
            if (error is not null)
            {
                return false;
            }
        }

        if (userId is null)
        {
            error = "field 'userId' is required";
            return false;
        }

        if (itemId is null)
        {
            error = "field 'itemId' is required";
            return false;
        }

        if (typeName is null)
        {
            error = "field 'type' is required";
            return false;
        }

        if (!EventTypes.TryParse(typeName, out var type))
        {
            error = $"field 'type' is '{Printable(typeName)}'; expected one of {string.Join(", ", EventTypes.WireNames)}";
            return false;
        }

        if (timestamp is null)
        {
            error = "field 'timestamp' is required (ISO-8601 string or epoch milliseconds)";
            return false;
        }

        evt = new ClickEvent(userId, itemId, type, timestamp.Value, sessionId, quantity, price);
        error = null;
        return true;
    }

    /// <summary>Writes the canonical JSON form of <paramref name="evt"/>.</summary>
    public static void Write(Utf8JsonWriter writer, ClickEvent evt)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(evt);
        writer.WriteStartObject();
        writer.WriteString("userId", evt.UserId);
        writer.WriteString("itemId", evt.ItemId);
        writer.WriteString("type", evt.Type.ToWireName());
        writer.WriteString("timestamp", evt.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        if (evt.SessionId is not null)
        {
            writer.WriteString("sessionId", evt.SessionId);
        }

        if (evt.Quantity is { } q)
        {
            writer.WriteNumber("quantity", q);
        }

        if (evt.Price is { } p)
        {
            writer.WriteNumber("price", p);
        }

        writer.WriteEndObject();
    }

    /// <summary>The canonical UTF-8 JSON bytes of <paramref name="evt"/>.</summary>
    public static byte[] ToUtf8(ClickEvent evt)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, evt);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Checks an id: non-empty, at most <see cref="MaxIdBytes"/> UTF-8 bytes, no control characters.
    /// Returns null when valid, else the reason.</summary>
    public static string? ValidateId(string name, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"'{name}' must be a non-empty string";
        }

        if (value.Length > MaxIdBytes || Encoding.UTF8.GetByteCount(value) > MaxIdBytes)
        {
            return $"'{name}' is longer than {MaxIdBytes} UTF-8 bytes";
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return $"'{name}' contains a control character (U+{(int)c:X4})";
            }

            if (char.IsSurrogate(c) && !HasValidSurrogates(value))
            {
                return $"'{name}' is not valid Unicode (unpaired surrogate)";
            }
        }

        // Format characters (Unicode category Cf) are invisible: bidirectional overrides make "\u202Egnp.exe" read
        // as "exe.png", zero-width ones make two ids that look the same differ. An id is shown to people (logs,
        // admin pages, reasons), so none may hide what it is.
        foreach (var rune in value.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format)
            {
                return $"'{name}' contains an invisible format character (U+{rune.Value:X4}), such as a bidirectional override or a zero-width character";
            }
        }

        return null;
    }

    private static bool HasValidSurrogates(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string? ReadId(ref Utf8JsonReader reader, string field, bool required, out string? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null && !required)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return $"field '{field}' must be a string, not {Describe(reader.TokenType)}";
        }

        value = reader.GetString();
        return ValidateId(field, value);
    }

    private static string? ReadString(ref Utf8JsonReader reader, string field, out string? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            return $"field '{field}' must be a string, not {Describe(reader.TokenType)}";
        }

        value = reader.GetString();
        return null;
    }

    private static string? ReadTimestamp(ref Utf8JsonReader reader, out DateTimeOffset? value)
    {
        value = null;
        DateTimeOffset ts;
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (!reader.TryGetInt64(out var ms))
            {
                return "field 'timestamp' must be whole epoch milliseconds";
            }

            if (ms < MinTimestamp.ToUnixTimeMilliseconds() || ms >= MaxTimestamp.ToUnixTimeMilliseconds())
            {
                return $"field 'timestamp' ({ms} ms) is outside {MinTimestamp:yyyy-MM-dd} .. {MaxTimestamp:yyyy-MM-dd}";
            }

            ts = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
        else if (reader.TokenType == JsonTokenType.String)
        {
            if (!reader.TryGetDateTime(out var dt))
            {
                return $"field 'timestamp' ('{Printable(reader.GetString())}') is not an ISO-8601 date-time";
            }

            // No offset means UTC: the same text must mean the same instant on every machine.
            ts = dt.Kind switch
            {
                DateTimeKind.Utc => new DateTimeOffset(dt, TimeSpan.Zero),
                DateTimeKind.Local => new DateTimeOffset(dt.ToUniversalTime(), TimeSpan.Zero),
                _ => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc), TimeSpan.Zero),
            };
            if (ts < MinTimestamp || ts >= MaxTimestamp)
            {
                return $"field 'timestamp' ({ts:O}) is outside {MinTimestamp:yyyy-MM-dd} .. {MaxTimestamp:yyyy-MM-dd}";
            }
        }
        else
        {
            return $"field 'timestamp' must be an ISO-8601 string or epoch milliseconds, not {Describe(reader.TokenType)}";
        }

        // Millisecond precision: the canonical form carries milliseconds, so a round trip is exact.
        value = DateTimeOffset.FromUnixTimeMilliseconds(ts.ToUnixTimeMilliseconds());
        return null;
    }

    private static string? ReadQuantity(ref Utf8JsonReader reader, out int? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var q))
        {
            return "field 'quantity' must be a whole number";
        }

        value = q;
        return null;
    }

    private static string? ReadPrice(ref Utf8JsonReader reader, out decimal? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDecimal(out var p))
        {
            return "field 'price' must be a number";
        }

        if (p < 0)
        {
            return "field 'price' must not be negative";
        }

        value = p;
        return null;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    // Error messages echo input; keep them short and printable so they are safe in logs and headers.
    private static string Printable(string? s)
    {
        if (s is null)
        {
            return string.Empty;
        }

        var clipped = s.Length > 64 ? s[..64] + "…" : s;
        return string.Create(clipped.Length, clipped, static (span, src) =>
        {
            for (var i = 0; i < src.Length; i++)
            {
                span[i] = char.IsControl(src[i]) ? '?' : src[i];
            }
        });
    }
}
