using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using RecoCluster.Gateway.Ingest;
using RecoCluster.Gateway.Security;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Endpoints;

/// <summary><c>/v1/users/{userId}</c>: a user's history, answered by the silo that owns the user; and its
/// erasure.</summary>
public static class UsersEndpoints
{
    /// <summary>The answer to an accepted erasure.</summary>
    /// <param name="UserId">The erased user.</param>
    /// <param name="Status">What happens next.</param>
    /// <param name="Position">The position after the erase command (also in the <c>Reco-Position</c> header): a read
    /// of the user that carries it no longer finds the history.</param>
    public sealed record EraseAccepted(string UserId, string Status, string? Position = null);

    public static IEndpointRouteBuilder MapUsersEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var users = app.MapGroup("/v1/users").WithTags("users");
        users.MapGet("/{userId}", GetUserAsync)
            .RequireScope(ApiScope.Read)
            .WithSummary("A user's recent items and event counts")
            .Produces<UserHistory>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        users.MapDelete("/{userId}", EraseUserAsync)
            .RequireScope(ApiScope.Admin)
            .WithSummary("Erase a user's history (privacy): 202 once the erase command is in Kafka")
            .Produces<EraseAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<IResult> GetUserAsync(
        string userId,
        [FromHeader(Name = PositionToken.Header)] string? position,
        HttpContext context,
        IClusterBackend cluster,
        CancellationToken ct)
    {
        var error = EventSchema.ValidateId("userId", userId);
        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid user id");
        }

        return PositionToken.TryFromHeader(position, out var token, out error)
            ? await cluster.UserAsync(userId, token, context, ct)
            : PositionToken.Invalid(error);
    }

    /// <summary>
    /// Produces an erase command to the user's partition and answers 202 once Kafka has it. The partition's ingress
    /// applies it in log order: the user leaves memory at once, and its stored row goes in the transaction that
    /// stores the batch's users. A replay applies it again at the same point, so a failover never brings the
    /// history back.
    /// </summary>
    internal static async Task<Results<Accepted<EraseAccepted>, ProblemHttpResult>> EraseUserAsync(
        string userId,
        HttpContext context,
        EventIngest ingest,
        ILoggerFactory loggers,
        CancellationToken ct)
    {
        var error = EventSchema.ValidateId("userId", userId);
        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid user id");
        }

        string? position;
        try
        {
            position = PositionToken.Answer(context, await ingest.ProduceEraseAsync(userId, ct));
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            loggers.CreateLogger(typeof(UsersEndpoints)).LogWarning(ex, "Kafka did not acknowledge an erase command");
            context.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem(
                "Kafka did not acknowledge the erase command in time; send it again (erasing twice is harmless)",
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Kafka unavailable");
        }

        return TypedResults.Accepted((string?)null, new EraseAccepted(userId, "erase recorded; the user's history disappears once the owning silo applies it, usually within a second", position));
    }
}
