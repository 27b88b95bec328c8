using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace RecoCluster.Gateway.Security;

/// <summary>
/// API keys, scopes and per-key rate limits, wired into ASP.NET Core's authentication, authorization and rate
/// limiter. An endpoint opts in with one line, <c>.RequireScope(ApiScope.Read)</c>; endpoints without it
/// (<c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>, <c>/openapi/v1.json</c>) are open.
/// </summary>
public static class GatewaySecurity
{
    /// <summary>The rate limiter policy of every scoped endpoint: a token bucket per API key.</summary>
    public const string RateLimitPolicy = "per-key";

    public static IServiceCollection AddGatewaySecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayAuthOptions>().Bind(configuration.GetSection(GatewayAuthOptions.Section)).ValidateOnStart();
        services.AddOptions<GatewayRateLimitOptions>().Bind(configuration.GetSection(GatewayRateLimitOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayAuthOptions>, GatewayAuthOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayRateLimitOptions>, GatewayRateLimitOptionsValidator>());
        services.AddSingleton<ApiKeys>();

        services.AddAuthentication(GatewayAccess.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(GatewayAccess.Scheme, null);
        services.AddAuthorization(options =>
        {
            foreach (var scope in Enum.GetValues<ApiScope>())
            {
                var allowed = Enum.GetValues<ApiScope>().Where(held => held.Allows(scope)).Select(held => held.Name()).ToArray();
                options.AddPolicy(PolicyName(scope), policy => policy.RequireClaim(ApiKeyAuthenticationHandler.ScopeClaim, allowed));
            }
        });

        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, _) =>
            {
                // The bucket knows when the next token arrives; whole seconds, at least one, as HTTP wants.
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
                    ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
                    : 1;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var key = context.HttpContext.User.FindFirstValue(ClaimTypes.Name);
                await TypedResults.Problem(
                    $"the key '{key}' made more requests than its scope allows; retry after {seconds} s",
                    statusCode: StatusCodes.Status429TooManyRequests,
                    title: "Too many requests").ExecuteAsync(context.HttpContext);
            };
            options.AddPolicy(RateLimitPolicy, context =>
            {
                // Runs after authentication: every request here has a key (or is the anonymous developer).
                var id = context.User.FindFirstValue(ClaimTypes.Name) ?? "none";

                // Dev mode's keyless access from this machine is the developer's own scripts: limits protect a
                // shared cluster from a client, and there is no other client here. A key that is sent still
                // counts against its own budget.
                if (id == GatewayAccess.AnonymousLoopback.Id)
                {
                    return RateLimitPartition.GetNoLimiter(id);
                }

                _ = ApiScopes.TryParse(context.User.FindFirstValue(ApiKeyAuthenticationHandler.ScopeClaim), out var scope);
                var limit = context.RequestServices.GetRequiredService<IOptions<GatewayRateLimitOptions>>().Value.For(scope);
                return RateLimitPartition.GetTokenBucketLimiter(id, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limit.Burst,
                    TokensPerPeriod = limit.PermitsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
        });
        return services;
    }

    /// <summary>Authentication, then authorization, then rate limits: a request without a valid key is refused
    /// before it can use up anyone's budget.</summary>
    public static WebApplication UseGatewaySecurity(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>The endpoint needs a key of <paramref name="scope"/> (or admin), and counts against that key's
    /// rate limit. This is the one line a new endpoint needs.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, ApiScope scope)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .WithMetadata(new RequiredScope(scope))
            .RequireAuthorization(PolicyName(scope))
            .RequireRateLimiting(RateLimitPolicy);
    }

    private static string PolicyName(ApiScope scope) => "scope:" + scope.Name();
}
