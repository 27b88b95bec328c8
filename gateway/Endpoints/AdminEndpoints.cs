using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RecoCluster.Gateway.Security;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Endpoints;

/// <summary><c>/v1/admin</c>: the cluster as its silos report it, an item's raw counts, and neighborhood rounds on demand.</summary>
public static class AdminEndpoints
{
    /// <summary>Most row entries served at once; matches the silo's limit.</summary>
    public const int MaxRowEntries = 10_000;

    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var admin = app.MapGroup("/v1/admin").WithTags("admin").RequireScope(ApiScope.Admin);
        admin.MapGet("/cluster", GetClusterAsync)
            .WithSummary("Every live silo, its partitions, lag and counters")
            .Produces<ClusterView>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        admin.MapGet("/items/{itemId}/cooccurrence", GetCooccurrenceAsync)
            .WithSummary("An item's event count and co-occurrence row, largest first (for verification)")
            .Produces<ItemCooccurrence>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        admin.MapPost("/neighborhoods/rebuild", RebuildAsync)
            .WithSummary("Run a neighborhood round now, counting every event acknowledged before the request; answers with the new snapshot version once it is visible")
            .Produces<RebuildResult>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<IResult> RebuildAsync(
        [FromHeader(Name = PositionToken.Header)] string? position,
        HttpContext context,
        IClusterBackend cluster,
        CancellationToken ct) =>
        PositionToken.TryFromHeader(position, out var token, out var error)
            ? await cluster.RebuildAsync(token, context, ct)
            : PositionToken.Invalid(error);

    /// <summary>The raw counts row of an item, largest first, for verification against a recount.</summary>
    internal static async Task<IResult> GetCooccurrenceAsync(string itemId, string? count, HttpContext context, IClusterBackend cluster, CancellationToken ct)
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

        return await cluster.CooccurrenceAsync(itemId, n, context, ct);
    }

    internal static Task<IResult> GetClusterAsync(HttpContext context, IClusterBackend cluster, CancellationToken ct) => cluster.ClusterAsync(context, ct);
}
