using System.Text.Json;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Storage;

namespace RecoCluster.Silo.Storage;

/// <summary>
/// The one encoding of stored grain states: Orleans' binary serializer (the generated, version-tolerant codecs of
/// the <c>[GenerateSerializer]</c> state classes) behind a format byte, written and read by
/// <see cref="GroupCommitGrainStorage"/> (the neighborhood round grain's state).
/// </summary>
/// <remarks>
/// Until 2026-12 states were stored as UTF-8 JSON (web defaults). Those rows are still read, by their first byte
/// (<c>{</c>), and rewritten in the binary format at the grain's next write, so a database migrates as it is used.
/// (Users and items, which were grain state too until then, have tables and codecs of their own now.)
/// </remarks>
public sealed class GrainStateSerializer(Serializer serializer) : IGrainStorageSerializer
{
    private static readonly JsonSerializerOptions LegacyJson = new(JsonSerializerDefaults.Web);

    /// <summary>The first byte of a state in Orleans' binary format, version 1.</summary>
    private const byte OrleansBinaryV1 = 1;

    public BinaryData Serialize<T>(T? input) => new(Encode(input));

    public T? Deserialize<T>(BinaryData input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Decode<T>(input.ToMemory().Span, "grain state");
    }

    /// <summary>Encodes a state: the format byte, then Orleans' serialization of it.</summary>
    public byte[] Encode<T>(T? state)
    {
        using var session = serializer.SessionPool.GetSession();
        var writer = Writer.CreatePooled(session);
        try
        {
            writer.WriteByte(OrleansBinaryV1);
            serializer.Serialize(state, ref writer);
            return writer.Output.ToArray();
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>Decodes a stored state of either format; <paramref name="what"/> names it in errors.</summary>
    public T Decode<T>(ReadOnlySpan<byte> payload, string what)
    {
        if (payload.IsEmpty)
        {
            throw new InvalidDataException($"stored {what} is empty");
        }

        var state = payload[0] switch
        {
            OrleansBinaryV1 => serializer.Deserialize<T>(payload[1..]),
            (byte)'{' => JsonSerializer.Deserialize<T>(payload, LegacyJson),
            var other => throw new InvalidDataException($"stored {what} has an unknown format (first byte {other})"),
        };
        return state ?? throw new InvalidDataException($"stored {what} is null");
    }
}
