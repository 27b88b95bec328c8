using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RecoCluster.Cluster;

namespace RecoCluster.Gateway.Endpoints;

/// <summary>Liveness and readiness of the gateway. Open (no key): the orchestrator calls them, and the
/// NetworkPolicy decides who can reach the pod at all.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" })).WithTags("operations");
        // Ready once the directory has been read to its end: before that the gateway cannot route anything.
        // Not gated on every partition having an owner: ingest needs only Kafka, and taking every gateway out of
        // service while a silo is replaced would stop ingest for nothing. Routed queries for an unowned partition
        // answer 503 with Retry-After on their own; the body says whether every partition is owned.
        app.MapGet("/readyz", (ClusterDirectory directory) =>
        {
            var body = new { status = directory.IsCaughtUp ? "ready" : "reading the directory", silos = directory.Live().Count, allPartitionsOwned = directory.IsCaughtUp && directory.CoversAllPartitions() };
            return directory.IsCaughtUp ? Results.Ok(body) : Results.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        return app;
    }
}
