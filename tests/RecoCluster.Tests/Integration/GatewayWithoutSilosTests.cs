using System.Net;
using System.Text;
using RecoCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// A gateway that reaches no silo (a cluster still starting, or all silos away) still answers its probes and takes
/// events, which need only Kafka; queries answer 503 until a silo is reachable.
/// </summary>
[Collection("cluster")]
public sealed class GatewayWithoutSilosTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_gateway_that_reaches_no_silo_answers_health_and_takes_events_and_queries_get_503()
    {
        await using var cluster = await ProcessCluster.StartAsync(TestDatabases.NewSqlite(), silos: 1);
        try
        {
            // Same Kafka and topics, another Orleans cluster id: the membership table lists no silo for it, so its
            // Orleans client keeps waiting, as a gateway started before its silos does.
            var (lonely, address) = cluster.StartGateway("lonely", https: null, "--cluster-id", $"{cluster.Prefix}-nobody");
            using var http = TestKeys.Client(address, TestKeys.Admin);
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                        return health.StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false; // not listening yet
                    }
                },
                Deadline,
                "the lonely gateway answering /healthz");
            await Eventually.TrueAsync(
                () => Task.FromResult(lonely.Log().Contains("No silo reachable yet", StringComparison.Ordinal)),
                Deadline,
                "the lonely gateway's Orleans client failing to find a silo");

            using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            }

            var body = """{"userId":"lonely-visitor","itemId":"lonely-sku","type":"view","timestamp":"2026-12-06T10:00:00Z"}""";
            using (var post = await http.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
            }

            using (var query = await http.GetAsync(new Uri("/v1/users/lonely-visitor", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, query.StatusCode);
                Assert.Equal("application/problem+json", query.Content.Headers.ContentType?.MediaType);
            }

            // The event it took is in the cluster, as seen through the cluster's own gateway.
            var user = await Eventually.ValueAsync<object>(async () => await cluster.GetUserAsync("lonely-visitor"), Deadline, "the lonely gateway's event applied by the silo");
            Assert.Equal(1, ((System.Text.Json.JsonElement)user).GetProperty("totalEvents").GetInt64());
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
