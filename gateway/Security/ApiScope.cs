namespace RecoCluster.Gateway.Security;

/// <summary>What an API key may do. Each key has exactly one scope.</summary>
public enum ApiScope
{
    /// <summary>Storefronts: read users (and, later, recommendations).</summary>
    Read,

    /// <summary>Producers: <c>POST /v1/events</c>.</summary>
    Ingest,

    /// <summary>SREs: <c>/v1/admin/*</c> and <c>DELETE /v1/users/{id}</c>. An admin key may also do everything
    /// a read or ingest key may, so one key is enough for an operator.</summary>
    Admin,
}

/// <summary>Scope names as they appear in configuration, key file names and answers.</summary>
public static class ApiScopes
{
    /// <summary>The lower-case name of <paramref name="scope"/>: <c>read</c>, <c>ingest</c> or <c>admin</c>.</summary>
    public static string Name(this ApiScope scope) => scope switch
    {
        ApiScope.Read => "read",
        ApiScope.Ingest => "ingest",
        _ => "admin",
    };

    /// <summary>Parses a scope name (case-insensitive).</summary>
    public static bool TryParse(string? name, out ApiScope scope)
    {
        foreach (var candidate in Enum.GetValues<ApiScope>())
        {
            if (string.Equals(candidate.Name(), name, StringComparison.OrdinalIgnoreCase))
            {
                scope = candidate;
                return true;
            }
        }

        scope = default;
        return false;
    }

    /// <summary>Whether a key of scope <paramref name="held"/> may call an endpoint that needs <paramref name="needed"/>.</summary>
    public static bool Allows(this ApiScope held, ApiScope needed) => held == needed || held == ApiScope.Admin;
}
