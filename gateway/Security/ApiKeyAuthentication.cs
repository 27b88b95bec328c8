using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RecoCluster.Gateway.Security;

/// <summary>Why a request has no identity.</summary>
public enum AccessFailure
{
    /// <summary>It has one.</summary>
    None,

    /// <summary>No key was sent.</summary>
    NoKey,

    /// <summary>A key was sent, and it is not a known key.</summary>
    UnknownKey,

    /// <summary>No key was sent, anonymous access is on, and the caller is not on this machine.</summary>
    AnonymousNotLoopback,
}

/// <summary>The outcome of looking at a request's credentials.</summary>
public readonly record struct AccessDecision(ApiKeyIdentity? Identity, AccessFailure Failure);

/// <summary>Who a request is: its key, or the anonymous developer on loopback. Pure, so it is unit tested as is.</summary>
public static class GatewayAccess
{
    /// <summary>The header that carries the key. <c>Authorization: ApiKey &lt;key&gt;</c> is accepted too.</summary>
    public const string KeyHeader = "X-Api-Key";

    /// <summary>The authentication scheme's name (also the <c>Authorization</c> header's scheme).</summary>
    public const string Scheme = "ApiKey";

    /// <summary>The identity of anonymous requests from loopback when <see cref="GatewayAuthOptions.AllowAnonymousOnLoopback"/> is on.</summary>
    public static readonly ApiKeyIdentity AnonymousLoopback = new("anonymous-loopback", ApiScope.Admin);

    /// <summary>The key a request carries, or null.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.TryGetValue(KeyHeader, out var key) && key.Count == 1 && !string.IsNullOrEmpty(key[0]))
        {
            return key[0];
        }

        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith(Scheme + " ", StringComparison.OrdinalIgnoreCase)
            ? authorization[(Scheme.Length + 1)..].Trim()
            : null;
    }

    /// <summary>Decides who the caller is. A key, when sent, always decides (a wrong key is refused even on
    /// loopback); without one, only a loopback caller of a gateway with anonymous access on gets through.</summary>
    public static AccessDecision Resolve(ApiKeys keys, string? presentedKey, IPAddress? remote, bool allowAnonymousOnLoopback)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (!string.IsNullOrEmpty(presentedKey))
        {
            var identity = keys.Find(presentedKey);
            return identity is null ? new AccessDecision(null, AccessFailure.UnknownKey) : new AccessDecision(identity, AccessFailure.None);
        }

        if (!allowAnonymousOnLoopback)
        {
            return new AccessDecision(null, AccessFailure.NoKey);
        }

        return IsLoopback(remote)
            ? new AccessDecision(AnonymousLoopback, AccessFailure.None)
            : new AccessDecision(null, AccessFailure.AnonymousNotLoopback);
    }

    /// <summary>Whether <paramref name="remote"/> is this machine (IPv4-mapped IPv6 included). Forwarded headers
    /// are deliberately not consulted: they are the caller's claim, not the connection's.</summary>
    public static bool IsLoopback(IPAddress? remote) =>
        remote is not null && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
}

/// <summary>
/// ASP.NET Core authentication by API key. Failures answer application/problem+json: 401 with
/// <c>WWW-Authenticate</c> when the key is missing or unknown, 403 when the key's scope does not cover the endpoint
/// (or an anonymous caller is not on loopback).
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeys keys,
    IOptions<GatewayAuthOptions> auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The claim that holds the key's scope name.</summary>
    public const string ScopeClaim = "reco:scope";

    private AccessDecision _decision;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        _decision = GatewayAccess.Resolve(keys, GatewayAccess.PresentedKey(Request), Context.Connection.RemoteIpAddress, auth.Value.AllowAnonymousOnLoopback);
        if (_decision.Identity is { } identity)
        {
            var principal = new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, identity.Id), new Claim(ScopeClaim, identity.Scope.Name())],
                GatewayAccess.Scheme));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, GatewayAccess.Scheme)));
        }

        return Task.FromResult(_decision.Failure switch
        {
            AccessFailure.UnknownKey => AuthenticateResult.Fail("the API key is not valid"),
            AccessFailure.AnonymousNotLoopback => AuthenticateResult.Fail("anonymous access is allowed from loopback only"),
            _ => AuthenticateResult.NoResult(),
        });
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_decision.Failure == AccessFailure.AnonymousNotLoopback)
        {
            await Problem(StatusCodes.Status403Forbidden, "Forbidden", "this gateway serves requests without an API key only from its own machine (development mode); send a key in the X-Api-Key header");
            return;
        }

        Response.Headers.WWWAuthenticate = $"{GatewayAccess.Scheme} realm=\"reco\", header=\"{GatewayAccess.KeyHeader}\"";
        await Problem(
            StatusCodes.Status401Unauthorized,
            "API key required",
            _decision.Failure == AccessFailure.UnknownKey
                ? "the API key is not valid"
                : $"send an API key in the {GatewayAccess.KeyHeader} header (or Authorization: {GatewayAccess.Scheme} <key>)");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var needed = Context.GetEndpoint()?.Metadata.GetMetadata<RequiredScope>()?.Scope;
        var held = Context.User.FindFirst(ScopeClaim)?.Value ?? "none";
        await Problem(
            StatusCodes.Status403Forbidden,
            "Insufficient scope",
            needed is { } scope
                ? $"this key has the '{held}' scope; {Request.Method} {Request.Path} needs '{scope.Name()}' (or 'admin')"
                : $"this key has the '{held}' scope, which does not cover this endpoint");
    }

    private Task Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title).ExecuteAsync(Context);
}

/// <summary>Endpoint metadata: the scope a key needs to call the endpoint.</summary>
public sealed record RequiredScope(ApiScope Scope);
