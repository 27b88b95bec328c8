using System.Text.Json;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using RecoCluster.Gateway.Ingest;
using RecoCluster.Gateway.Security;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Endpoints;

/// <summary><c>PUT /v1/items/{itemId}</c>: the item catalog. Writes to the catalog topic, which every silo follows.</summary>
public static class CatalogEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapCatalogEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGroup("/v1/items").WithTags("catalog").MapPut("/{itemId}", PutAsync)
            .RequireScope(ApiScope.Ingest)
            .WithSummary("Set an item's category, tags, price and availability: 202 once the catalog topic has it")
            .Accepts<CatalogUpdate>("application/json")
            .Produces<CatalogEntry>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<Results<Accepted<CatalogEntry>, ProblemHttpResult>> PutAsync(
        string itemId, HttpContext context, EventIngest ingest, TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
    {
        var error = EventSchema.ValidateId("itemId", itemId);
        CatalogUpdate? update = null;
        if (error is null)
        {
            try
            {
                update = await JsonSerializer.DeserializeAsync<CatalogUpdate>(context.Request.Body, Json, ct);
            }
            catch (JsonException ex)
            {
                error = $"the body is not a valid catalog entry: {ex.Message}";
            }

            error ??= CatalogSchema.Validate(update);
        }

        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid catalog entry");
        }

        var entry = new CatalogEntry(itemId, update!.Category, update.Tags?.Distinct(StringComparer.Ordinal).ToList(), update.Price, update.Available ?? true, time.GetUtcNow());
        try
        {
            await ingest.ProduceCatalogAsync(entry, ct);
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            loggers.CreateLogger(typeof(CatalogEndpoints)).LogWarning(ex, "Kafka did not acknowledge a catalog entry");
            context.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem("Kafka did not acknowledge the catalog entry in time; send it again", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Kafka unavailable");
        }

        return TypedResults.Accepted((string?)null, entry);
    }
}
