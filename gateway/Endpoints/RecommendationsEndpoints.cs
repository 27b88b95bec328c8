using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RecoCluster.Gateway.Security;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Endpoints;

/// <summary>
/// The recommendation API. The gateway validates and routes; silos compute from their prepared snapshot: user
/// recommendations on the user's owner (it holds the user's window and vector), the rest on any silo.
/// </summary>
public static class RecommendationsEndpoints
{
    /// <summary>Largest cart request body read.</summary>
    public const int MaxCartBodyBytes = 64 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapRecommendationsEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var v1 = app.MapGroup("/v1").WithTags("recommendations").RequireScope(ApiScope.Read);
        v1.MapGet("/users/{userId}/recommendations", ForUserAsync)
            .WithSummary("Recommendations for a user, each with a reason; a user with no history gets popular items (coldStart)")
            .Produces<RecommendationList>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        v1.MapGet("/items/{itemId}/similar", SimilarAsync)
            .WithSummary("Items similar to an item: its neighborhood from the snapshot, or by catalog content for a new item")
            .Produces<RecommendationList>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        v1.MapGet("/items/popular", PopularAsync)
            .WithSummary("Popular now (time-decayed), available items only")
            .Produces<RecommendationList>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        v1.MapPost("/recommendations/cart", CartAsync)
            .WithSummary("Complements for a basket, from purchase co-occurrence")
            .Accepts<CartRequest>("application/json")
            .Produces<RecommendationList>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<IResult> ForUserAsync(
        string userId,
        string? count,
        [FromHeader(Name = PositionToken.Header)] string? position,
        HttpContext context,
        IClusterBackend cluster,
        CancellationToken ct)
    {
        var n = RecommendationRequests.DefaultCount;
        var error = EventSchema.ValidateId("userId", userId) ?? ParseCount(count, out n);
        if (error is not null)
        {
            return BadRequest(error);
        }

        return PositionToken.TryFromHeader(position, out var token, out error)
            ? await cluster.RecommendationsAsync(userId, n, token, context, ct)
            : PositionToken.Invalid(error);
    }

    internal static async Task<IResult> SimilarAsync(string itemId, string? count, HttpContext context, IClusterBackend cluster, CancellationToken ct)
    {
        var n = RecommendationRequests.DefaultCount;
        var error = EventSchema.ValidateId("itemId", itemId) ?? ParseCount(count, out n);
        return error is not null ? BadRequest(error) : await cluster.SimilarAsync(itemId, n, context, ct);
    }

    internal static async Task<IResult> PopularAsync(string? count, HttpContext context, IClusterBackend cluster, CancellationToken ct)
    {
        var error = ParseCount(count, out var n);
        return error is not null ? BadRequest(error) : await cluster.PopularAsync(n, context, ct);
    }

    internal static async Task<IResult> CartAsync(HttpContext context, IClusterBackend cluster, CancellationToken ct)
    {
        var request = context.Request;
        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem($"send application/json, not '{type}'", statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
        }

        if (request.ContentLength > MaxCartBodyBytes)
        {
            return TypedResults.Problem($"the body is {request.ContentLength} bytes; at most {MaxCartBodyBytes} are accepted", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large");
        }

        CartRequest? cart;
        try
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body, ct);
            if (body.Length > MaxCartBodyBytes)
            {
                return TypedResults.Problem($"the body is larger than {MaxCartBodyBytes} bytes", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large");
            }

            cart = body.Length == 0 ? null : JsonSerializer.Deserialize<CartRequest>(body.GetBuffer().AsSpan(0, (int)body.Length), Json);
        }
        catch (JsonException ex)
        {
            return BadRequest($"the body is not a valid cart request: {ex.Message}");
        }

        var error = RecommendationRequests.ValidateCart(cart);
        if (error is not null)
        {
            return BadRequest(error);
        }

        return await cluster.CartAsync(cart!, context, ct);
    }

    // Query strings arrive as text so that "abc" or "1e3" get a problem+json from us, not a bare 400 from binding.
    internal static string? ParseCount(string? count, out int value)
    {
        value = RecommendationRequests.DefaultCount;
        if (count is null)
        {
            return null;
        }

        if (!int.TryParse(count, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value))
        {
            return $"'count' must be a whole number between 1 and {RecommendationRequests.MaxCount}";
        }

        return RecommendationRequests.ValidateCount(value);
    }

    private static IResult BadRequest(string error) =>
        TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");
}
