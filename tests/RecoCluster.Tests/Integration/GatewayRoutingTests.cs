using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using RecoCluster.Cluster;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>The gateway alone against a directory whose only silo is unreachable (killed, entry not yet
/// expired): queries retry until the deadline, then answer 503 with Retry-After.</summary>
public sealed class GatewayRoutingTests
{
    [Fact]
    public async Task An_unreachable_owner_makes_user_and_item_queries_answer_503_with_retry_after()
    {
        await using var gateway = await GatewayOnly.StartAsync(new Dictionary<string, string?>
        {
            ["Reco:Gateway:RouteDeadlineMs"] = "600",
            ["Reco:Gateway:SiloAttemptTimeoutMs"] = "200",
        },
        TestRuntime.FirstRuntime);
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = gateway.Kafka.BootstrapServers }).Build())
        {
            // A silo that claims everything at an address where nothing listens.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var entry = new SiloDirectoryEntry("ghost", "http://127.0.0.1:1", [0, 1, 2, 3], 4, now, now + 60_000, [0, 1, 2, 3]);
            await producer.ProduceAsync(gateway.Topics.Directory, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("ghost"), Value = DirectoryCodec.Encode(entry) });
        }

        using var http = gateway.Client(TestKeys.Admin);
        await Eventually.TrueAsync(
            async () =>
            {
                var view = await http.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
                return view.GetProperty("silos").EnumerateArray().Any(s => s.GetProperty("siloId").GetString() == "ghost");
            },
            TimeSpan.FromSeconds(20),
            "the gateway reading the ghost's directory entry");

        foreach (var path in new[] { "/v1/users/u-1", "/v1/admin/items/sku-1/cooccurrence" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        }
    }
}
