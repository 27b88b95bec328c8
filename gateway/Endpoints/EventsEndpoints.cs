using System.Buffers;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Gateway.Ingest;
using RecoCluster.Gateway.Security;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Endpoints;

/// <summary><c>POST /v1/events</c>: validated ingest for producers without a Kafka client.</summary>
public static class EventsEndpoints
{
    /// <summary>The answer to an accepted request.</summary>
    /// <param name="Accepted">Events acknowledged by Kafka.</param>
    /// <param name="Position">The position after them (also in the <c>Reco-Position</c> header): a read of their
    /// users that carries it reflects them, through any gateway.</param>
    public sealed record IngestAccepted(int Accepted, string? Position);

    public static IEndpointRouteBuilder MapEventsEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGroup("/v1").WithTags("events").MapPost("/events", PostAsync)
            .RequireScope(ApiScope.Ingest)
            .WithSummary("Ingest one event or an array of up to 1,000: all or nothing, 202 once Kafka has them all")
            .Accepts<ClickEvent[]>("application/json")
            .Produces<IngestAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<Results<Accepted<IngestAccepted>, ProblemHttpResult>> PostAsync(
        HttpContext context,
        EventIngest ingest,
        IOptions<GatewayOptions> options,
        ILoggerFactory loggers,
        CancellationToken ct)
    {
        var request = context.Request;
        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", $"send application/json, not '{type}'");
        }

        var limit = options.Value.MaxBodyBytes;
        if (request.ContentLength > limit)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"the body is {request.ContentLength} bytes; at most {limit} are accepted");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit, 64 * 1024) + 1);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        return Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"the body is larger than {limit} bytes");
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), ct);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > limit)
                {
                    return Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"the body is larger than {limit} bytes");
                }
            }

            var batch = ingest.Parse(buffer.AsSpan(0, length));
            if (batch.BodyError is not null)
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid request body", batch.BodyError);
            }

            if (batch.Rejections.Count > 0)
            {
                return Problem(
                    StatusCodes.Status400BadRequest,
                    "Invalid events",
                    $"{batch.Rejections.Count} of {batch.Rejections.Count + batch.Events.Count} events are invalid; none was accepted",
                    new Dictionary<string, object?> { ["errors"] = batch.Rejections });
            }

            try
            {
                var position = PositionToken.Answer(context, await ingest.ProduceAsync(batch.Events, ct));
                return TypedResults.Accepted((string?)null, new IngestAccepted(batch.Events.Count, position));
            }
            catch (Exception ex) when (ex is KafkaException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                loggers.CreateLogger(typeof(EventsEndpoints)).LogWarning(ex, "Kafka did not acknowledge an ingest batch of {Count}", batch.Events.Count);
                context.Response.Headers.RetryAfter = "1";
                return Problem(
                    StatusCodes.Status503ServiceUnavailable,
                    "Kafka unavailable",
                    "Kafka did not acknowledge the events in time. Some may have been written; sending the batch again may duplicate them.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ProblemHttpResult Problem(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail, statusCode: status, title: title, extensions: extensions);
}
