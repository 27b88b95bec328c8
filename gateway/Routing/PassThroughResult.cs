using Microsoft.AspNetCore.Http;

namespace RecoCluster.Gateway.Routing;

/// <summary>Writes a silo's answer (status, content type, body) to the client unchanged.</summary>
public sealed class PassThroughResult(SiloResponse response) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = response.StatusCode;
        httpContext.Response.ContentType = response.ContentType;
        httpContext.Response.ContentLength = response.Body.Length;
        return httpContext.Response.Body.WriteAsync(response.Body).AsTask();
    }
}
