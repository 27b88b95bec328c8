using Microsoft.AspNetCore.Http;

namespace RecoCluster.Gateway.Routing;

/// <summary>Writes a silo's answer (status, content type, body) to the client unchanged.</summary>
public sealed class PassThroughResult(SiloResponse response) : IResult
{
    /// <summary>The silo's answer as is (its JSON is the contract: no decode and re-encode), or 503 with
    /// Retry-After when no owner of the <paramref name="what"/> answered in time.</summary>
    public static IResult OrUnavailable(SiloResponse? answer, HttpContext context, string what)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (answer is not null)
        {
            return new PassThroughResult(answer);
        }

        context.Response.Headers.RetryAfter = "1";
        return TypedResults.Problem(
            $"no silo that owns this {what} answered in time (the cluster may be rebalancing or starting)",
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Owner unavailable");
    }

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = response.StatusCode;
        httpContext.Response.ContentType = response.ContentType;
        httpContext.Response.ContentLength = response.Body.Length;
        return httpContext.Response.Body.WriteAsync(response.Body).AsTask();
    }
}
