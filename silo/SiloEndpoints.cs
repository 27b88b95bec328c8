using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Cluster;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Runtime;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Silo;

/// <summary>The silo's internal HTTP API, called by the gateway (and by operators for health). Everything under
/// <c>/internal/v1</c> requires the cluster secret; <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> stay open for
/// the orchestrator and Prometheus (the NetworkPolicy keeps everyone else out of the pod).</summary>
public static class SiloEndpoints
{
    /// <summary>Problem type of "this silo does not own the key's partition (any more)": the caller should
    /// refresh its directory and try the current owner.</summary>
    public const string NotOwnerType = "urn:reco:problem:not-owner";

    /// <summary>Most entries of a co-occurrence row served at once (a verification endpoint, not a hot path).</summary>
    public const int MaxRowEntries = 10_000;

    public static IEndpointRouteBuilder MapSiloEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var internalApi = app.MapGroup("/internal/v1").AddEndpointFilter(RequireClusterSecretAsync);
        internalApi.MapGet("/users/{userId}", GetUserAsync);
        internalApi.MapGet("/items/{itemId}/cooccurrence", GetCooccurrenceAsync);
        internalApi.MapGet("/silo", (SiloRuntime runtime) => TypedResults.Ok(Describe(runtime)));
        internalApi.MapRecommendationEndpoints();

        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" }));
        app.MapGet("/readyz", ReadyAsync);
        return app;
    }

    internal static async Task<Results<Ok<UserHistory>, ProblemHttpResult>> GetUserAsync(string userId, SiloRuntime runtime)
    {
        var error = EventSchema.ValidateId("userId", userId);
        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid user id");
        }

        if (runtime.PartitionCount == 0)
        {
            return NotOwner(runtime, -1);
        }

        var partition = KafkaPartitioner.PartitionFor(userId, runtime.PartitionCount);
        if (!runtime.TryGetUserWorker(partition, out var worker))
        {
            return NotOwner(runtime, partition);
        }

        var result = await worker.ReadAsync(() => worker.GetHistoryAsync(userId));
        if (!result.Owned)
        {
            return NotOwner(runtime, partition);
        }

        return result.Value is null
            ? TypedResults.Problem($"user '{userId}' has no history", statusCode: StatusCodes.Status404NotFound, title: "Unknown user")
            : TypedResults.Ok(result.Value);
    }

    internal static async Task<Results<Ok<ItemCooccurrence>, ProblemHttpResult>> GetCooccurrenceAsync(string itemId, int? count, SiloRuntime runtime)
    {
        var error = EventSchema.ValidateId("itemId", itemId);
        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid item id");
        }

        var n = count ?? 50;
        if (n is < 1 or > MaxRowEntries)
        {
            return TypedResults.Problem($"'count' must be between 1 and {MaxRowEntries}", statusCode: StatusCodes.Status400BadRequest, title: "Invalid count");
        }

        var partition = runtime.PartitionCount == 0 ? -1 : KafkaPartitioner.PartitionFor(itemId, runtime.PartitionCount);
        if (partition < 0 || !runtime.TryGetItemWorker(partition, out var worker))
        {
            return NotOwner(runtime, partition);
        }

        var result = await worker.QueryAsync(() => worker.GetCooccurrenceAsync(itemId, n));
        if (!result.Owned)
        {
            return NotOwner(runtime, partition);
        }

        return result.Value is null
            ? TypedResults.Problem($"item '{itemId}' has no co-occurrence counts", statusCode: StatusCodes.Status404NotFound, title: "Unknown item")
            : TypedResults.Ok(result.Value);
    }

    // Only the gateway and silos know the secret: without it, anyone who reaches a pod could read any user's
    // history around the gateway's API keys and rate limits.
    private static async ValueTask<object?> RequireClusterSecretAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var secret = http.RequestServices.GetRequiredService<ClusterSecret>();
        if (!secret.Matches(http.Request.Headers[ClusterSecret.Header].ToString()))
        {
            return TypedResults.Problem(
                $"internal endpoints need the cluster secret in the {ClusterSecret.Header} header",
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Cluster secret required");
        }

        return await next(context);
    }

    internal static ProblemHttpResult NotOwner(SiloRuntime runtime, int partition) =>
        TypedResults.Problem(
            $"silo {runtime.SiloId} does not own partition {partition}",
            statusCode: StatusCodes.Status421MisdirectedRequest,
            title: "Not owner",
            type: NotOwnerType);

    private static async Task<IResult> ReadyAsync(SiloRuntime runtime, GrainStore store, CancellationToken ct)
    {
        if (!runtime.IsReady)
        {
            return TypedResults.Json(new { status = "loading", owned = runtime.OwnedPartitions }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await store.PingAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return TypedResults.Json(new { status = "storage unreachable", error = ex.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Ok(new { status = "ready", owned = runtime.OwnedPartitions });
    }

    internal static object Describe(SiloRuntime runtime) => new
    {
        siloId = runtime.SiloId,
        endpoint = runtime.Address.Url,
        partitionCount = runtime.PartitionCount,
        ready = runtime.IsReady,
        itemPartitions = runtime.OwnedItemPartitions,
        hostsBatchGrain = runtime.BatchGrain is not null,
        snapshot = new
        {
            version = runtime.Snapshots.Current.Version,
            builtAt = runtime.Snapshots.Current.Version == 0 ? (DateTimeOffset?)null : runtime.Snapshots.Current.BuiltAt,
            items = runtime.Snapshots.Current.ItemCount,
        },
        lag = runtime.Workers.Sum(w => w.Lag),
        partitions = runtime.Workers.OrderBy(w => w.Partition.Topic, StringComparer.Ordinal).ThenBy(w => w.Partition.Partition.Value).Select(w => new
        {
            topic = w.Partition.Topic,
            partition = w.Partition.Partition.Value,
            epoch = w.Epoch,
            nextOffset = w.NextOffset,
            highWatermark = w.HighWatermark,
            lag = w.Lag,
            queued = w.QueuedRecords,
            activeGrains = w.ActiveGrains,
            lastCheckpointAt = w.LastCheckpointAt,
            fenced = w.IsFenced,
        }),
        stats = new
        {
            consumed = runtime.Stats.Consumed,
            applied = runtime.Stats.Applied,
            invalid = runtime.Stats.Invalid,
            checkpoints = runtime.Stats.Checkpoints,
            activations = runtime.Stats.Activations,
            deactivations = runtime.Stats.Deactivations,
            deltaBatchesSent = runtime.Stats.DeltaBatchesSent,
            deltaBatchesApplied = runtime.Stats.DeltaBatchesApplied,
            duplicateBatchesDropped = runtime.Stats.DuplicateBatchesDropped,
            pauses = runtime.Stats.Pauses,
            lastCheckpointMs = runtime.Stats.LastCheckpointDuration.TotalMilliseconds,
            fencingViolations = runtime.Stats.FencingViolations,
        },
    };
}
