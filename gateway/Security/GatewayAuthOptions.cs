using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RecoCluster.Gateway.Security;

/// <summary>API keys of the gateway. Section <c>Reco:Gateway:Auth</c>.</summary>
/// <remarks>
/// Keys come from configuration (several per scope, so a new key can be rolled out before the old one is removed)
/// and/or from <see cref="KeysDirectory"/>, a mounted secret with one file per key. Both sources add up.
/// </remarks>
public sealed class GatewayAuthOptions
{
    public const string Section = "Reco:Gateway:Auth";

    /// <summary>Shortest accepted key, in characters.</summary>
    public const int MinKeyLength = 16;

    /// <summary>Keys with the <c>read</c> scope (<c>Reco:Gateway:Auth:ReadKeys:0</c>, <c>…:1</c>, …).</summary>
    public List<string> ReadKeys { get; set; } = [];

    /// <summary>Keys with the <c>ingest</c> scope.</summary>
    public List<string> IngestKeys { get; set; } = [];

    /// <summary>Keys with the <c>admin</c> scope (which may also do what read and ingest keys do).</summary>
    public List<string> AdminKeys { get; set; } = [];

    /// <summary>A directory with one file per key, named <c>&lt;scope&gt;-&lt;anything&gt;</c> (for example
    /// <c>read-storefront-2026-11</c>) and holding the key. Names starting with '.' are ignored (a Kubernetes
    /// Secret volume keeps its bookkeeping there). Re-read every <see cref="KeysReloadSeconds"/>, so keys can be
    /// rotated without a restart.</summary>
    public string? KeysDirectory { get; set; }

    /// <summary>How often <see cref="KeysDirectory"/> is re-read.</summary>
    public int KeysReloadSeconds { get; set; } = 30;

    /// <summary>Development only (<c>./reco dev</c> sets it): requests without a key from a loopback address
    /// are served with the admin scope. Requests from elsewhere still need a key, and the gateway refuses to
    /// start with this switch on while listening on a non-loopback address.</summary>
    public bool AllowAnonymousOnLoopback { get; set; }

    /// <summary>The configured keys, scope by scope.</summary>
    internal IEnumerable<(ApiScope Scope, List<string> Keys)> ConfiguredKeys()
    {
        yield return (ApiScope.Read, ReadKeys);
        yield return (ApiScope.Ingest, IngestKeys);
        yield return (ApiScope.Admin, AdminKeys);
    }
}

/// <summary>Start-up validation of <see cref="GatewayAuthOptions"/>: a gateway that would be open, or whose keys
/// are unusable, does not start.</summary>
public sealed class GatewayAuthOptionsValidator(IConfiguration configuration) : IValidateOptions<GatewayAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayAuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (keys, errors) = ApiKeys.Load(options);
        if (options.KeysReloadSeconds is < 1 or > 86_400)
        {
            errors.Add($"Reco:Gateway:Auth:KeysReloadSeconds is {options.KeysReloadSeconds}; it must be between 1 and 86400.");
        }

        if (keys.Count == 0 && errors.Count == 0 && !options.AllowAnonymousOnLoopback)
        {
            errors.Add(
                "Reco:Gateway:Auth has no API keys, and a gateway without keys would be open to anyone. Give keys in " +
                "Reco:Gateway:Auth:ReadKeys / IngestKeys / AdminKeys (e.g. Reco__Gateway__Auth__AdminKeys__0) or in files under " +
                "Reco:Gateway:Auth:KeysDirectory. (./reco dev is open on loopback instead.)");
        }

        if (options.AllowAnonymousOnLoopback)
        {
            foreach (var url in BoundUrls(configuration))
            {
                if (!IsLoopbackUrl(url))
                {
                    errors.Add(
                        $"Reco:Gateway:Auth:AllowAnonymousOnLoopback is on, but the gateway listens on '{url}', which is not a loopback " +
                        "address. Anonymous access is for development on this machine only: listen on 127.0.0.1, or configure API keys and turn the switch off.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Whether <paramref name="url"/> (a Kestrel binding such as <c>http://127.0.0.1:8080</c>,
    /// <c>http://+:80</c> or <c>http://[::1]:0</c>) listens on loopback only.</summary>
    public static bool IsLoopbackUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var rest = schemeEnd >= 0 ? url[(schemeEnd + 3)..] : url;
        string host;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            host = close > 0 ? rest[1..close] : rest;
        }
        else
        {
            var end = rest.IndexOfAny([':', '/']);
            host = end >= 0 ? rest[..end] : rest;
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    // Where Kestrel will listen: `urls` (--urls, ASPNETCORE_URLS) and Kestrel:Endpoints. With neither, the
    // gateway's default is http://127.0.0.1:8080.
    private static IEnumerable<string> BoundUrls(IConfiguration configuration)
    {
        foreach (var url in (configuration["urls"] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            yield return url;
        }

        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url)
            {
                yield return url;
            }
        }
    }
}

/// <summary>Requests per second each key may make, by the key's scope. Section <c>Reco:Gateway:RateLimits</c>.</summary>
public sealed class GatewayRateLimitOptions
{
    public const string Section = "Reco:Gateway:RateLimits";

    /// <summary>Limits of each read key.</summary>
    public ScopeRateLimit Read { get; set; } = new() { PermitsPerSecond = 1_000, Burst = 2_000 };

    /// <summary>Limits of each ingest key (a request may carry up to 1,000 events).</summary>
    public ScopeRateLimit Ingest { get; set; } = new() { PermitsPerSecond = 100, Burst = 200 };

    /// <summary>Limits of each admin key.</summary>
    public ScopeRateLimit Admin { get; set; } = new() { PermitsPerSecond = 50, Burst = 100 };

    /// <summary>The limits of keys of <paramref name="scope"/>.</summary>
    public ScopeRateLimit For(ApiScope scope) => scope switch
    {
        ApiScope.Read => Read,
        ApiScope.Ingest => Ingest,
        _ => Admin,
    };
}

/// <summary>A token bucket: <see cref="Burst"/> requests at once, refilled at <see cref="PermitsPerSecond"/>.</summary>
public sealed class ScopeRateLimit
{
    /// <summary>Sustained requests per second per key.</summary>
    public int PermitsPerSecond { get; set; }

    /// <summary>Requests a key may make at once after being idle (the bucket's size).</summary>
    public int Burst { get; set; }
}

/// <summary>Start-up validation of <see cref="GatewayRateLimitOptions"/>.</summary>
public sealed class GatewayRateLimitOptionsValidator : IValidateOptions<GatewayRateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayRateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        foreach (var scope in Enum.GetValues<ApiScope>())
        {
            var limit = options.For(scope);
            var key = $"Reco:Gateway:RateLimits:{scope}";
            if (limit.PermitsPerSecond is < 1 or > 1_000_000)
            {
                errors.Add($"{key}:PermitsPerSecond is {limit.PermitsPerSecond}; it must be between 1 and 1000000.");
            }

            if (limit.Burst is < 1 or > 10_000_000)
            {
                errors.Add($"{key}:Burst is {limit.Burst}; it must be between 1 and 10000000.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
