using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo.Hosting;

/// <summary>
/// An Orleans silo's HTTP side: liveness, readiness and metrics, for the orchestrator and Prometheus. Everything
/// else goes over Orleans (the gateway is an Orleans client), so there is no other HTTP API on a silo.
/// </summary>
public static class SiloHealthEndpoints
{
    public static IEndpointRouteBuilder MapSiloHealthEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" }));
        app.MapGet("/readyz", ReadyAsync);
        return app;
    }

    // Ready once the silo is an active member (the host starts Kestrel's requests flowing only after Orleans' start,
    // but a silo that is stopping is no longer Active), its storage answers (a silo that cannot store would fail
    // every batch it is given), its Kafka brokers answer (it would read nothing), and no partition's ingress is blocked: a stored position outside the log (a Kafka
    // that was reset under a database that kept its checkpoints) stops that partition until an operator acts, and
    // every silo says so rather than look healthy while events are ignored.
    private static async Task<IResult> ReadyAsync(IClusterMembershipService membership, ILocalSiloDetails silo, GrainStore store, KafkaProbe kafka, GrainKeeper keeper, IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
        if (status != SiloStatus.Active || !lifetime.ApplicationStarted.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return TypedResults.Json(new { status = "not active", silo = silo.SiloAddress.ToString(), membership = status.ToString() }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await store.PingAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return TypedResults.Json(new { status = "storage unreachable", silo = silo.SiloAddress.ToString(), error = ex.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        // librdkafka's metadata call blocks; off the request thread, bounded like the storage ping.
        if (await Task.Run(() => kafka.Problem(TimeSpan.FromSeconds(2)), ct) is { } kafkaProblem)
        {
            return TypedResults.Json(new { status = "kafka unreachable", silo = silo.SiloAddress.ToString(), error = kafkaProblem }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var blocked = keeper.LastStatuses.Where(s => s.Blocked is not null).Select(s => new { partition = s.Partition, problem = s.Blocked }).ToList();
        if (blocked.Count > 0)
        {
            return TypedResults.Json(new { status = "ingress blocked", silo = silo.SiloAddress.ToString(), blocked }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Ok(new { status = "ready", silo = silo.SiloAddress.ToString(), name = silo.Name });
    }
}
