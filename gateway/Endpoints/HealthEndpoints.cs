using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RecoCluster.Gateway.Serving;

namespace RecoCluster.Gateway.Endpoints;

/// <summary>Liveness and readiness of the gateway. Open (no key): the orchestrator calls them, and the
/// NetworkPolicy decides who can reach the pod at all.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" })).WithTags("operations");
        // Ready once the gateway can reach the cluster. Not gated on every partition being read: ingest needs only
        // Kafka, and taking every gateway out of service while a silo is replaced would stop ingest for nothing.
        app.MapGet("/readyz", (HttpContext context, IClusterBackend cluster, CancellationToken ct) => cluster.ReadinessAsync(context, ct))
            .WithTags("operations")
            .Produces(StatusCodes.Status200OK)
            .Produces(StatusCodes.Status503ServiceUnavailable);
        return app;
    }
}
