using System.Net.Http.Headers;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>
/// The API keys every test cluster is configured with. Tests run with authentication on and
/// send real keys: the default gateway client carries the admin key (which may do everything), and
/// <see cref="Client"/> makes clients with any other key, or none.
/// </summary>
public static class TestKeys
{
    public const string Read = "test-read-key-5f0c2a9e71d4";
    public const string Ingest = "test-ingest-key-9b3e6d1a04c7";
    public const string Admin = "test-admin-key-2d8f4b7e1c93";

    /// <summary>Configuration that gives the gateway the keys, with rate
    /// limits high enough that only the tests about limits meet them, and an event age limit that keeps the
    /// fixed timestamps of test data valid for years.</summary>
    public static Dictionary<string, string?> Config() => new()
    {
        ["Reco:Gateway:Auth:ReadKeys:0"] = Read,
        ["Reco:Gateway:Auth:IngestKeys:0"] = Ingest,
        ["Reco:Gateway:Auth:AdminKeys:0"] = Admin,
        ["Reco:Gateway:RateLimits:Read:PermitsPerSecond"] = "100000",
        ["Reco:Gateway:RateLimits:Read:Burst"] = "100000",
        ["Reco:Gateway:RateLimits:Ingest:PermitsPerSecond"] = "100000",
        ["Reco:Gateway:RateLimits:Ingest:Burst"] = "100000",
        ["Reco:Gateway:RateLimits:Admin:PermitsPerSecond"] = "100000",
        ["Reco:Gateway:RateLimits:Admin:Burst"] = "100000",
        ["Reco:Gateway:MaxEventAgeDays"] = "3650",
    };

    /// <summary>A client of the gateway at <paramref name="baseAddress"/> that sends <paramref name="key"/> (none when
    /// null). It records the statuses it receives in <see cref="ObservedStatuses"/>.</summary>
    public static HttpClient Client(Uri baseAddress, string? key, HttpMessageHandler? inner = null)
    {
        var http = new HttpClient(ObservedStatuses.Handler(inner)) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return http;
    }
}
