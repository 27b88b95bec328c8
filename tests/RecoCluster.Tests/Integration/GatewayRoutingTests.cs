using System.Net;
using System.Text;
using Confluent.Kafka;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Cluster;
using RecoCluster.Host;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>The gateway alone against a directory whose only silo is unreachable (killed, entry not yet
/// expired): queries retry until the deadline, then answer 503 with Retry-After.</summary>
public sealed class GatewayRoutingTests
{
    [Fact]
    public async Task An_unreachable_owner_makes_user_and_item_queries_answer_503_with_retry_after()
    {
        using var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"g{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, 4);
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            // A silo that claims everything at an address where nothing listens.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var entry = new SiloDirectoryEntry("ghost", "http://127.0.0.1:1", [0, 1, 2, 3], 4, now, now + 60_000, [0, 1, 2, 3]);
            await producer.ProduceAsync(topics.Directory, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("ghost"), Value = DirectoryCodec.Encode(entry) });
        }

        var config = TestKeys.Config();
        config["Reco:Kafka:BootstrapServers"] = kafka.BootstrapServers;
        config["Reco:Kafka:TopicPrefix"] = topics.Prefix;
        config["Reco:Gateway:RouteDeadlineMs"] = "600";
        config["Reco:Gateway:SiloAttemptTimeoutMs"] = "200";
        config["urls"] = "http://127.0.0.1:0";
        await using var gateway = ClusterHosts.BuildGateway([], config);
        await gateway.StartAsync();
        using var http = TestKeys.Client(new Uri(gateway.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), TestKeys.Admin);
        await Eventually.TrueAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromSeconds(20), "the gateway reading the directory");

        foreach (var path in new[] { "/v1/users/u-1", "/v1/admin/items/sku-1/cooccurrence" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        }

        await gateway.StopAsync();
    }
}
