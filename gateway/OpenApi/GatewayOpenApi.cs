using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using RecoCluster.Gateway.Security;

namespace RecoCluster.Gateway.OpenApi;

/// <summary>
/// The OpenAPI document of the public API at <c>/openapi/v1.json</c>, generated from the endpoints themselves
/// (Microsoft.AspNetCore.OpenApi), so it cannot drift from them. It is open like <c>/healthz</c>: it describes the
/// API, it does not serve data. Every scoped operation says which scope it needs and lists 401, 403 and 429.
/// </summary>
public static class GatewayOpenApi
{
    /// <summary>The document's name, hence its path: <c>/openapi/v1.json</c>.</summary>
    public const string DocumentName = "v1";

    private const string SchemeId = "ApiKey";

    public static IServiceCollection AddGatewayOpenApi(this IServiceCollection services)
    {
        services.AddOpenApi(DocumentName, options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "RecoCluster gateway",
                    Version = "v1",
                    Description = "Real-time recommendations: ingest clickstream events, read users' histories, operate the cluster. " +
                        "Send an API key in the X-Api-Key header (or Authorization: ApiKey <key>). Errors are application/problem+json.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SchemeId] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = GatewayAccess.KeyHeader,
                    Description = "An API key with scope read (storefronts), ingest (producers) or admin (operators; may do everything).",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var required = context.Description.ActionDescriptor.EndpointMetadata.OfType<RequiredScope>().FirstOrDefault();
                if (required is null)
                {
                    return Task.CompletedTask;
                }

                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeId, context.Document)] = [] });
                operation.Description = $"Needs an API key with the '{required.Scope.Name()}' scope" + (required.Scope == ApiScope.Admin ? "." : " (or 'admin').");
                operation.Responses ??= [];
                operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No API key, or an unknown one (problem+json, WWW-Authenticate)." });
                operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The key's scope does not cover this operation (problem+json)." });
                operation.Responses.TryAdd("429", new OpenApiResponse { Description = "The key's rate limit is used up (problem+json, Retry-After)." });
                return Task.CompletedTask;
            });
        });
        return services;
    }

    public static WebApplication MapGatewayOpenApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapOpenApi();
        return app;
    }
}
