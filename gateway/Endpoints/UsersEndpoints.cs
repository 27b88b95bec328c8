using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RecoCluster.Cluster;
using RecoCluster.Gateway.Routing;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Endpoints;

/// <summary><c>/v1/users/{userId}</c>: a user's history, answered by the silo that owns the user.</summary>
public static class UsersEndpoints
{
    public static IEndpointRouteBuilder MapUsersEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var users = app.MapGroup("/v1/users");
        users.MapGet("/{userId}", GetUserAsync);
        return app;
    }

    internal static async Task<IResult> GetUserAsync(string userId, HttpContext context, SiloRouter router, CancellationToken ct)
    {
        var error = EventSchema.ValidateId("userId", userId);
        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid user id");
        }

        var answer = await router.GetFromOwnerAsync(userId, GrainRole.User, $"/internal/v1/users/{Uri.EscapeDataString(userId)}", ct);
        return PassThroughResult.OrUnavailable(answer, context, "user");
    }
}
