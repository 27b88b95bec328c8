using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Gateway.Security;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>One gateway without silos, shared by the tests of this class: what the gateway decides by itself.</summary>
public sealed class GatewayOnlyFixture : IAsyncLifetime
{
    public GatewayOnly Gateway { get; private set; } = null!;

    public async Task InitializeAsync() => Gateway = await GatewayOnly.StartAsync();

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}

/// <summary>Keys, scopes, open endpoints, rate limits and the OpenAPI document, through real HTTP.</summary>
public sealed class GatewayApiTests(GatewayOnlyFixture fixture) : IClassFixture<GatewayOnlyFixture>
{
    private const string ValidEvent = """{"userId":"api-1","itemId":"sku-1","type":"view","timestamp":"2026-11-22T07:49:13Z"}""";
    private readonly GatewayOnly _gateway = fixture.Gateway;

    /// <summary>Every public endpoint, as "METHOD path" in the OpenAPI document's spelling.</summary>
    public static readonly string[] PublicEndpoints =
    [
        "GET /healthz",
        "GET /readyz",
        "POST /v1/events",
        "GET /v1/users/{userId}",
        "DELETE /v1/users/{userId}",
        "GET /v1/admin/cluster",
        "GET /v1/admin/items/{itemId}/cooccurrence",
        "POST /v1/admin/neighborhoods/rebuild",
        "GET /v1/users/{userId}/recommendations",
        "GET /v1/items/{itemId}/similar",
        "GET /v1/items/popular",
        "POST /v1/recommendations/cart",
        "PUT /v1/items/{itemId}",
    ];

    /// <summary>Every scoped endpoint with a request that passes validation, and the scope it needs.</summary>
    public static TheoryData<string, string, string?, ApiScope> ScopedRequests => new()
    {
        { "POST", "/v1/events", ValidEvent, ApiScope.Ingest },
        { "GET", "/v1/users/api-1", null, ApiScope.Read },
        { "DELETE", "/v1/users/api-1", null, ApiScope.Admin },
        { "GET", "/v1/admin/cluster", null, ApiScope.Admin },
        { "GET", "/v1/admin/items/sku-1/cooccurrence", null, ApiScope.Admin },
        { "POST", "/v1/admin/neighborhoods/rebuild", null, ApiScope.Admin },
        { "GET", "/v1/users/api-1/recommendations", null, ApiScope.Read },
        { "GET", "/v1/items/sku-1/similar", null, ApiScope.Read },
        { "GET", "/v1/items/popular", null, ApiScope.Read },
        { "POST", "/v1/recommendations/cart", """{"items":["sku-1"]}""", ApiScope.Read },
        { "PUT", "/v1/items/sku-1", """{"category":"lamps"}""", ApiScope.Ingest },
    };

    [Theory]
    [MemberData(nameof(ScopedRequests))]
    public async Task Without_a_key_or_with_an_unknown_one_every_scoped_endpoint_answers_401_problem_json(string method, string path, string? body, ApiScope scope)
    {
        _ = scope;
        foreach (var key in new[] { null, "not-a-key-of-this-gateway" })
        {
            using var client = _gateway.Client(key);
            using var response = await client.SendAsync(Request(method, path, body));

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("ApiKey", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(401, problem.GetProperty("status").GetInt32());
            Assert.Contains(key is null ? "X-Api-Key" : "not valid", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(ScopedRequests))]
    public async Task A_key_reaches_exactly_the_endpoints_of_its_scope_and_admin_reaches_all(string method, string path, string? body, ApiScope scope)
    {
        foreach (var (held, key) in new[] { (ApiScope.Read, TestKeys.Read), (ApiScope.Ingest, TestKeys.Ingest), (ApiScope.Admin, TestKeys.Admin) })
        {
            using var client = _gateway.Client(key);
            using var response = await client.SendAsync(Request(method, path, body));
            if (held.Allows(scope))
            {
                // Past authorization: whatever the endpoint answers, it is not 401 or 403.
                Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
                Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
            }
            else
            {
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
                Assert.Contains($"needs '{scope.Name()}'", detail, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task The_authorization_header_form_is_accepted_too()
    {
        using var client = _gateway.Client(null);
        using var request = Request("GET", "/v1/admin/cluster", null);
        request.Headers.Authorization = new AuthenticationHeaderValue("ApiKey", TestKeys.Admin);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/metrics")]
    [InlineData("/openapi/v1.json")]
    public async Task Health_metrics_and_the_api_description_need_no_key(string path)
    {
        using var client = _gateway.Client(null);
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        // /readyz may say 503 (no silos here), but never 401 or 403.
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{path}: {response.StatusCode}");
    }

    [Fact]
    public async Task The_openapi_document_lists_every_public_endpoint_and_the_key_each_needs()
    {
        using var client = _gateway.Client(null);
        var document = await client.GetFromJsonAsync<JsonElement>(new Uri("/openapi/v1.json", UriKind.Relative));

        var listed = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject()
                .Where(op => op.Name is "get" or "post" or "put" or "patch" or "delete")
                .Select(op => $"{op.Name.ToUpperInvariant()} {path.Name}"))
            .Order(StringComparer.Ordinal);
        Assert.Equal(PublicEndpoints.Order(StringComparer.Ordinal), listed);

        Assert.Equal("X-Api-Key", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey").GetProperty("name").GetString());
        var delete = document.GetProperty("paths").GetProperty("/v1/users/{userId}").GetProperty("delete");
        Assert.True(delete.TryGetProperty("security", out _));
        Assert.Contains("'admin' scope", delete.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(delete.GetProperty("responses").TryGetProperty("429", out _));

        // Reads of a user take the read-your-writes position as a header.
        foreach (var read in new[] { "/v1/users/{userId}", "/v1/users/{userId}/recommendations" })
        {
            var parameters = document.GetProperty("paths").GetProperty(read).GetProperty("get").GetProperty("parameters").EnumerateArray();
            Assert.Contains(parameters, p => p.GetProperty("name").GetString() == "Reco-Position" && p.GetProperty("in").GetString() == "header");
        }
    }

    [Fact]
    public async Task The_openapi_document_lists_every_status_each_endpoint_answers()
    {
        // What the endpoints answer besides the security statuses (which the next lines check on every scoped
        // operation): the statuses this class and the cluster tests provoke, so a generated client handles them.
        var answers = new Dictionary<string, string[]>
        {
            ["POST /v1/events"] = ["202", "400", "413", "415", "503"],
            ["DELETE /v1/users/{userId}"] = ["202", "400", "503"],
            ["GET /v1/users/{userId}"] = ["200", "400", "404", "503"],
            ["GET /v1/users/{userId}/recommendations"] = ["200", "400", "503"],
            ["GET /v1/items/{itemId}/similar"] = ["200", "400", "404", "503"],
            ["GET /v1/items/popular"] = ["200", "400", "503"],
            ["POST /v1/recommendations/cart"] = ["200", "400", "413", "415", "503"],
            ["PUT /v1/items/{itemId}"] = ["202", "400", "503"],
            ["GET /v1/admin/cluster"] = ["200", "503"],
            ["GET /v1/admin/items/{itemId}/cooccurrence"] = ["200", "400", "404", "503"],
            ["POST /v1/admin/neighborhoods/rebuild"] = ["200", "400", "503"],
            ["GET /readyz"] = ["200", "503"],
            ["GET /healthz"] = ["200"],
        };
        using var client = _gateway.Client(null);
        var document = await client.GetFromJsonAsync<JsonElement>(new Uri("/openapi/v1.json", UriKind.Relative));

        foreach (var (operation, statuses) in answers)
        {
            var (method, path) = (operation.Split(' ')[0].ToLowerInvariant(), operation.Split(' ')[1]);
            var op = document.GetProperty("paths").GetProperty(path).GetProperty(method);
            var listed = op.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            var expected = path.StartsWith("/v1/", StringComparison.Ordinal) ? statuses.Concat(["401", "403", "429"]) : statuses;
            Assert.All(expected, status => Assert.True(listed.Contains(status), $"{operation} does not list {status} (it lists {string.Join(", ", listed.Order(StringComparer.Ordinal))})"));
        }

        Assert.Equal(PublicEndpoints.Order(StringComparer.Ordinal), answers.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_v1_endpoint_requires_a_scope()
    {
        var endpoints = _gateway.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1", StringComparison.Ordinal) == true)
            .ToList();

        Assert.Equal(PublicEndpoints.Count(e => e.Contains(" /v1/", StringComparison.Ordinal)), endpoints.Count);
        Assert.All(endpoints, e => Assert.NotNull(e.Metadata.GetMetadata<RequiredScope>()));
    }

    internal static HttpRequestMessage Request(string method, string path, string? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return request;
    }
}

/// <summary>Gateways of their own: rate limits, dev mode's anonymous loopback access, and Kafka going away.</summary>
[Collection("cluster")]
public sealed class GatewayLimitsTests
{
    [Fact]
    public async Task A_key_over_its_rate_limit_gets_429_problem_json_with_retry_after_and_other_keys_do_not()
    {
        await using var gateway = await GatewayOnly.StartAsync(new Dictionary<string, string?>
        {
            ["Reco:Gateway:RateLimits:Admin:PermitsPerSecond"] = "1",
            ["Reco:Gateway:RateLimits:Admin:Burst"] = "3",
            ["Reco:Gateway:Auth:AdminKeys:1"] = "second-admin-key-0123456789",
        });
        using var admin = gateway.Client(TestKeys.Admin);
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 6 && limited is null; i++)
        {
            var response = await admin.GetAsync(new Uri("/v1/admin/cluster", UriKind.Relative));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.NotNull(limited);
        using (limited)
        {
            Assert.True(statuses.Count(s => s == HttpStatusCode.OK) >= 3, string.Join(", ", statuses));
            Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
            var retryAfter = limited.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
            Assert.Contains("admin#0", (await limited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // The budget is per key: another admin key is not limited by the first one's use.
        using var other = gateway.Client("second-admin-key-0123456789");
        using var fine = await other.GetAsync(new Uri("/v1/admin/cluster", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
    }

    [Fact]
    public async Task Dev_mode_serves_loopback_without_a_key_or_a_rate_limit_but_still_checks_a_key_that_is_sent()
    {
        await using var gateway = await GatewayOnly.StartAsync(new Dictionary<string, string?>
        {
            ["Reco:Gateway:Auth:AllowAnonymousOnLoopback"] = "true",
            ["Reco:Gateway:Auth:ReadKeys:0"] = null,
            ["Reco:Gateway:Auth:IngestKeys:0"] = null,
            ["Reco:Gateway:Auth:AdminKeys:0"] = null,
            ["Reco:Gateway:RateLimits:Admin:PermitsPerSecond"] = "1",
            ["Reco:Gateway:RateLimits:Admin:Burst"] = "3",
        });

        using var anonymous = gateway.Client(null);
        using (var response = await anonymous.GetAsync(new Uri("/v1/admin/cluster", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var posted = await anonymous.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(GatewayApiTestsEvent(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        // A local script is not throttled: far past the admin scope's burst, every event is accepted.
        for (var i = 0; i < 20; i++)
        {
            using var response = await anonymous.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(GatewayApiTestsEvent(), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        using var wrong = gateway.Client("a-key-nobody-configured-0123");
        using var refused = await wrong.GetAsync(new Uri("/v1/admin/cluster", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task With_the_kafka_broker_down_ingest_answers_503_never_202_and_recovers_without_a_restart()
    {
        // A short delivery timeout, so "Kafka did not acknowledge in time" comes within seconds.
        await using var gateway = await GatewayOnly.StartAsync(new Dictionary<string, string?>
        {
            ["Reco:Kafka:Client:message.timeout.ms"] = "3000",
            ["Reco:Kafka:Client:request.timeout.ms"] = "2000",
        });
        using var ingest = gateway.Client(TestKeys.Ingest);
        Assert.Equal(HttpStatusCode.Accepted, await PostAsync(ingest));

        gateway.Kafka.SetBrokerDown(1);
        try
        {
            using (var response = await ingest.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(GatewayApiTestsEvent(), Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.NotNull(response.Headers.RetryAfter);
            }

            using var erase = await gateway.Client(TestKeys.Admin).DeleteAsync(new Uri("/v1/users/kafka-down", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, erase.StatusCode);
        }
        finally
        {
            gateway.Kafka.SetBrokerUp(1);
        }

        await Eventually.TrueAsync(async () => await PostAsync(ingest) == HttpStatusCode.Accepted, TimeSpan.FromSeconds(30), "ingest answering 202 again once the broker is back");
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient client)
    {
        using var response = await client.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(GatewayApiTestsEvent(), Encoding.UTF8, "application/json"));
        return response.StatusCode;
    }

    private static string GatewayApiTestsEvent() =>
        $$"""{"userId":"limits-1","itemId":"sku-1","type":"view","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}}}""";
}
