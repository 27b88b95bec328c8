using System.Text.Json;

namespace RecoCluster.Silo.Storage;

/// <summary>The one encoding of stored Orleans grain states (UTF-8 JSON, web defaults): written by
/// <see cref="GroupCommitGrainStorage"/>, and read back by whatever scans stored states (a neighborhood round).</summary>
public static class GrainStateJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static byte[] Encode<T>(T state) => JsonSerializer.SerializeToUtf8Bytes(state, Options);

    public static T Decode<T>(byte[] payload, string what) =>
        JsonSerializer.Deserialize<T>(payload, Options) ?? throw new InvalidDataException($"stored {what} is null");
}
