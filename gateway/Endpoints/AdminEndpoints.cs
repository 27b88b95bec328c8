using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RecoCluster.Cluster;
using RecoCluster.Gateway.Routing;
using RecoCluster.Gateway.Security;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Endpoints;

/// <summary><c>/v1/admin</c>: the cluster as the directory and the silos report it.</summary>
public static class AdminEndpoints
{
    /// <summary>Most row entries served at once; matches the silo's limit.</summary>
    public const int MaxRowEntries = 10_000;

    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var admin = app.MapGroup("/v1/admin").WithTags("admin").RequireScope(ApiScope.Admin);
        admin.MapGet("/cluster", GetClusterAsync).WithSummary("Every live silo, its partitions, lag and counters");
        admin.MapGet("/items/{itemId}/cooccurrence", GetCooccurrenceAsync)
            .WithSummary("An item's event count and co-occurrence row, largest first (for verification)")
            .Produces<ItemCooccurrence>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        admin.MapPost("/neighborhoods/rebuild", RebuildAsync)
            .WithSummary("Run a neighborhood round now; answers with the new snapshot version once it is visible")
            .Produces<RebuildResult>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary>How long a rebuild request waits for its round.</summary>
    public static readonly TimeSpan RebuildTimeout = TimeSpan.FromMinutes(2);

    internal static async Task<IResult> RebuildAsync(HttpContext context, SiloRouter router, CancellationToken ct)
    {
        var answer = await router.SendToBatchHostAsync(HttpMethod.Post, "/internal/v1/neighborhoods/rebuild", RebuildTimeout, ct);
        return PassThroughResult.OrUnavailable(answer, context, "control partition (batch grain)");
    }

    /// <summary>The raw counts row of an item, largest first, for verification against a recount.</summary>
    internal static async Task<IResult> GetCooccurrenceAsync(string itemId, string? count, HttpContext context, SiloRouter router, CancellationToken ct)
    {
        var error = EventSchema.ValidateId("itemId", itemId);
        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid item id");
        }

        var n = 50;
        if (count is not null && (!int.TryParse(count, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n) || n is < 1 or > MaxRowEntries))
        {
            return TypedResults.Problem($"'count' must be a whole number between 1 and {MaxRowEntries}", statusCode: StatusCodes.Status400BadRequest, title: "Invalid count");
        }

        var answer = await router.GetFromOwnerAsync(itemId, GrainRole.Item, $"/internal/v1/items/{Uri.EscapeDataString(itemId)}/cooccurrence?count={n}", ct);
        return PassThroughResult.OrUnavailable(answer, context, "item");
    }

    internal static async Task<IResult> GetClusterAsync(ClusterDirectory directory, HttpClient http, CancellationToken ct)
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
}
