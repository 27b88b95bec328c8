using System.Text.Json;
using Microsoft.AspNetCore.Http;
using RecoCluster.Cluster;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Routing;

/// <summary>
/// The first runtime's backend: each read goes over HTTP to the silo that owns the key's partition (found in the
/// <see cref="ClusterDirectory"/>), or to any silo for snapshot reads, and the silo's JSON is passed through. It goes
/// with the first runtime (see docs/architecture.md, "Moving onto Orleans").
/// </summary>
public sealed class SiloHttpBackend(SiloRouter router, ClusterDirectory directory, HttpClient http) : IClusterBackend
{
    /// <summary>How long a rebuild request waits for its round.</summary>
    public static readonly TimeSpan RebuildTimeout = TimeSpan.FromMinutes(2);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<IResult> UserAsync(string userId, HttpContext context, CancellationToken ct) =>
        PassThroughResult.OrUnavailable(await router.GetFromOwnerAsync(userId, GrainRole.User, $"/internal/v1/users/{Uri.EscapeDataString(userId)}", ct), context, "user");

    public async Task<IResult> RecommendationsAsync(string userId, int count, HttpContext context, CancellationToken ct) =>
        PassThroughResult.OrUnavailable(await router.GetFromOwnerAsync(userId, GrainRole.User, $"/internal/v1/users/{Uri.EscapeDataString(userId)}/recommendations?count={count}", ct), context, "user");

    public async Task<IResult> SimilarAsync(string itemId, int count, HttpContext context, CancellationToken ct) =>
        PassThroughResult.OrUnavailable(await router.SendToAnyAsync(HttpMethod.Get, $"/internal/v1/items/{Uri.EscapeDataString(itemId)}/similar?count={count}", null, ct), context, "item");

    public async Task<IResult> PopularAsync(int count, HttpContext context, CancellationToken ct) =>
        PassThroughResult.OrUnavailable(await router.SendToAnyAsync(HttpMethod.Get, $"/internal/v1/items/popular?count={count}", null, ct), context, "snapshot");

    public async Task<IResult> CartAsync(CartRequest cart, HttpContext context, CancellationToken ct) =>
        PassThroughResult.OrUnavailable(await router.SendToAnyAsync(HttpMethod.Post, "/internal/v1/recommendations/cart", JsonSerializer.SerializeToUtf8Bytes(cart, Json), ct), context, "snapshot");

    public async Task<IResult> CooccurrenceAsync(string itemId, int count, HttpContext context, CancellationToken ct) =>
        PassThroughResult.OrUnavailable(await router.GetFromOwnerAsync(itemId, GrainRole.Item, $"/internal/v1/items/{Uri.EscapeDataString(itemId)}/cooccurrence?count={count}", ct), context, "item");

    public async Task<IResult> RebuildAsync(HttpContext context, CancellationToken ct) =>
        PassThroughResult.OrUnavailable(await router.SendToBatchHostAsync(HttpMethod.Post, "/internal/v1/neighborhoods/rebuild", RebuildTimeout, ct), context, "control partition (batch grain)");

    public async Task<IResult> ClusterAsync(HttpContext context, CancellationToken ct)
    {
        var live = directory.Live();
        var details = await Task.WhenAll(live.Select(async entry =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(1));
                using var response = await http.GetAsync(new Uri(entry.Endpoint + "/internal/v1/silo"), timeout.Token);
                return response.IsSuccessStatusCode
                    ? JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync(timeout.Token))
                    : (JsonElement?)null;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException)
            {
                return null;
            }
        }));

        return TypedResults.Ok(new
        {
            partitionCount = directory.PartitionCount(),
            silos = live.Select((entry, i) => new
            {
                siloId = entry.SiloId,
                endpoint = entry.Endpoint,
                partitions = entry.Partitions,
                changedAt = DateTimeOffset.FromUnixTimeMilliseconds(entry.ChangedAtMs),
                heartbeatAt = DateTimeOffset.FromUnixTimeMilliseconds(entry.HeartbeatAtMs),
                reachable = details[i] is not null,
                detail = details[i],
            }),
        });
    }

    // Ready once the directory has been read to its end: before that the gateway cannot route anything. Not gated
    // on every partition having an owner: ingest needs only Kafka, and taking every gateway out of service while a
    // silo is replaced would stop ingest for nothing. The body says whether every partition is owned.
    public Task<IResult> ReadinessAsync(HttpContext context, CancellationToken ct)
    {
        var body = new { status = directory.IsCaughtUp ? "ready" : "reading the directory", silos = directory.Live().Count, allPartitionsOwned = directory.IsCaughtUp && directory.CoversAllPartitions() };
        return Task.FromResult(directory.IsCaughtUp ? Results.Ok(body) : Results.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable));
    }
}
