using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RecoCluster.Cluster;

namespace RecoCluster.Gateway.Endpoints;

/// <summary>Liveness and readiness of the gateway.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" }));
        // Ready once the directory has been read to its end and every partition has a live owner: before that,
        // some routed queries could only fail.
        app.MapGet("/readyz", (ClusterDirectory directory) =>
            directory.IsCaughtUp && directory.CoversAllPartitions()
                ? Results.Ok(new { status = "ready", silos = directory.Live().Count })
                : Results.Json(new { status = "waiting for every partition to have a live owner", silos = directory.Live().Count }, statusCode: StatusCodes.Status503ServiceUnavailable));
        return app;
    }
}
