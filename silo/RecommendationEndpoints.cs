using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Catalog;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Runtime;
using RecoCluster.Silo.Serving;

namespace RecoCluster.Silo;

/// <summary>
/// The silo's recommendation endpoints (under <c>/internal/v1</c>, behind the cluster secret). User
/// recommendations are answered by the user's owner, which reads the user's window and vector in the grain's
/// turn; everything else any silo answers from its replicated snapshot and catalog.
/// </summary>
public static class RecommendationEndpoints
{
    public static RouteGroupBuilder MapRecommendationEndpoints(this RouteGroupBuilder internalApi)
    {
        ArgumentNullException.ThrowIfNull(internalApi);
        internalApi.MapGet("/users/{userId}/recommendations", ForUserAsync);
        internalApi.MapGet("/items/{itemId}/similar", Similar);
        internalApi.MapGet("/items/popular", Popular);
        internalApi.MapPost("/recommendations/cart", Cart);
        internalApi.MapPost("/neighborhoods/rebuild", RebuildAsync);
        return internalApi;
    }

    internal static async Task<Results<Ok<RecommendationList>, ProblemHttpResult>> ForUserAsync(
        string userId, int? count, SiloRuntime runtime, ItemCatalog catalog, IOptions<RecommenderOptions> options)
    {
        var error = EventSchema.ValidateId("userId", userId) ?? RecommendationRequests.ValidateCount(count);
        if (error is not null)
        {
            return BadRequest(error);
        }

        var partition = runtime.PartitionCount == 0 ? -1 : KafkaPartitioner.PartitionFor(userId, runtime.PartitionCount);
        if (partition < 0 || !runtime.TryGetUserWorker(partition, out var worker))
        {
            return SiloEndpoints.NotOwner(runtime, partition);
        }

        var result = await worker.ReadAsync(() => worker.GetRecommendationInputAsync(userId));
        if (!result.Owned)
        {
            return SiloEndpoints.NotOwner(runtime, partition);
        }

        var snapshot = runtime.Snapshots.Current;
        var n = count ?? 10;
        var input = result.Value;
        var coldStart = input is null || (input.Recent.Count == 0 && input.Factors is null);
        var items = coldStart
            ? Recommender.Popular(snapshot, catalog.IsAvailable, n)
            : Recommender.ForUser(input!, snapshot, catalog.IsAvailable, options.Value, n);
        return TypedResults.Ok(List(snapshot, items) with { UserId = userId, ColdStart = coldStart });
    }

    internal static Results<Ok<RecommendationList>, ProblemHttpResult> Similar(
        string itemId, int? count, SiloRuntime runtime, ItemCatalog catalog)
    {
        var error = EventSchema.ValidateId("itemId", itemId) ?? RecommendationRequests.ValidateCount(count);
        if (error is not null)
        {
            return BadRequest(error);
        }

        var snapshot = runtime.Snapshots.Current;
        return RecommendationLists.Similar(itemId, count ?? 10, snapshot, catalog) is { } list
            ? TypedResults.Ok(list)
            : TypedResults.Problem(
                $"item '{itemId}' is in neither snapshot {snapshot.Version} nor the catalog",
                statusCode: StatusCodes.Status404NotFound,
                title: "Unknown item");
    }

    internal static Results<Ok<RecommendationList>, ProblemHttpResult> Popular(int? count, SiloRuntime runtime, ItemCatalog catalog)
    {
        var error = RecommendationRequests.ValidateCount(count);
        if (error is not null)
        {
            return BadRequest(error);
        }

        var snapshot = runtime.Snapshots.Current;
        return TypedResults.Ok(List(snapshot, Recommender.Popular(snapshot, catalog.IsAvailable, count ?? 10)));
    }

    internal static Results<Ok<RecommendationList>, ProblemHttpResult> Cart(CartRequest? request, SiloRuntime runtime, ItemCatalog catalog)
    {
        var error = RecommendationRequests.ValidateCart(request);
        if (error is not null)
        {
            return BadRequest(error);
        }

        var snapshot = runtime.Snapshots.Current;
        return TypedResults.Ok(List(snapshot, Recommender.Cart(request!.Items!, snapshot, catalog.IsAvailable, request.Count ?? 10)));
    }

    // Runs a round now and answers once it is complete (visible). Only the batch grain's host can; others answer
    // 421 so the gateway finds the host.
    internal static async Task<Results<Ok<RebuildResult>, ProblemHttpResult>> RebuildAsync(SiloRuntime runtime, CancellationToken ct)
    {
        if (runtime.BatchGrain is not { } grain)
        {
            return TypedResults.Problem($"silo {runtime.SiloId} does not host the batch grain", statusCode: StatusCodes.Status421MisdirectedRequest, title: "Not owner", type: SiloEndpoints.NotOwnerType);
        }

        try
        {
            var round = await grain.RequestRoundAsync(ct);

            // Answer once this silo serves the version (or a newer one), so a client that rebuilds and then asks
            // sees it; other silos switch on their next poll of the rounds (RoundParticipant.PollInterval).
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(TimeSpan.FromSeconds(10));
            while (runtime.Snapshots.Current.Version < round.Version && !wait.IsCancellationRequested)
            {
                await Task.Delay(20, CancellationToken.None);
            }

            return TypedResults.Ok(new RebuildResult(
                round.Version,
                DateTimeOffset.FromUnixTimeMilliseconds(round.StartedMs),
                DateTimeOffset.FromUnixTimeMilliseconds(round.CompletedMs ?? round.StartedMs),
                round.Partitions));
        }
        catch (InvalidOperationException)
        {
            return TypedResults.Problem($"silo {runtime.SiloId} stopped hosting the batch grain", statusCode: StatusCodes.Status421MisdirectedRequest, title: "Not owner", type: SiloEndpoints.NotOwnerType);
        }
    }

    private static RecommendationList List(RecoSnapshot snapshot, IEnumerable<Recommendation> items) => RecommendationLists.From(snapshot, items);

    private static ProblemHttpResult BadRequest(string error) =>
        TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");
}
