using System.Net;
using System.Net.Http.Json;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using RecoCluster.Host;
using RecoCluster.Gateway.Serving;
using RecoCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// Encryption in transit, as an operator turns it on: the gateway on HTTPS (Kestrel's endpoint settings with a PEM
/// certificate) and Orleans' links under mutual TLS (<c>Reco:Orleans:Tls</c>), across separate processes, with
/// throwaway self-signed certificates.
/// </summary>
[Collection("cluster")]
public sealed class TlsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_gateway_answers_over_https_and_silos_accept_only_peers_holding_the_clusters_certificate()
    {
        var dir = Directory.CreateTempSubdirectory("reco-tls-").FullName;
        var clusterCertificate = SelfSignedCertificate.Write(Path.Combine(dir, "cluster"), "reco-cluster", TimeSpan.FromHours(2));
        var gatewayCertificate = SelfSignedCertificate.Write(Path.Combine(dir, "gateway"), "reco-gateway", TimeSpan.FromHours(2));
        // The same name as the cluster's, another key: what a process outside the cluster could make itself.
        var stranger = SelfSignedCertificate.Write(Path.Combine(dir, "stranger"), "reco-cluster", TimeSpan.FromHours(2));
        var tls = new Dictionary<string, string>
        {
            ["Reco__Orleans__Tls__CertificatePath"] = clusterCertificate.CertificatePath,
            ["Reco__Orleans__Tls__KeyPath"] = clusterCertificate.KeyPath,
        };

        // Two silos, so that grain calls cross between silos as well as from the gateway.
        await using var cluster = await ProcessCluster.StartAsync(TestDatabases.NewSqlite(), silos: 2, environment: tls, gatewayHttps: gatewayCertificate);
        try
        {
            Assert.Equal(Uri.UriSchemeHttps, cluster.Gateway.BaseAddress!.Scheme);

            // A click posted over HTTPS is in the next answer for that visitor (the position token of the post).
            var body = """
                [{"userId":"visitor-1","itemId":"clicked-a","type":"view","timestamp":"2026-12-06T10:00:00Z"},
                 {"userId":"visitor-2","itemId":"clicked-a","type":"view","timestamp":"2026-12-06T10:00:01Z"},
                 {"userId":"visitor-2","itemId":"clicked-b","type":"view","timestamp":"2026-12-06T10:00:02Z"}]
                """;
            using var post = await cluster.Gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
            using var read = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/users/visitor-2", UriKind.Relative));
            read.Headers.Add(PositionToken.Header, post.Headers.GetValues(PositionToken.Header).Single());
            using var user = await cluster.Gateway.SendAsync(read);
            Assert.Equal(HttpStatusCode.OK, user.StatusCode);
            var recent = (await user.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("recentItems").EnumerateArray().Select(i => i.GetProperty("itemId").GetString()).Order(StringComparer.Ordinal);
            Assert.Equal(["clicked-a", "clicked-b"], recent);

            // Events through Kafka land on both silos' partitions; their items' co-occurrence counts are kept by
            // item shards spread over both, so the recount's equality needs calls between the silos.
            var events = ClusterClient.Events(seed: 11, count: 2_000, users: 100, items: 50, userPrefix: "tls");
            await cluster.ProduceAsync(events);
            await cluster.AssertServedEqualsRecountAsync(events, Deadline);
            await cluster.AssertItemsEqualRecountAsync(events, Deadline);

            // A client that does not trust the gateway's certificate is refused at the handshake.
            using (var untrusting = new HttpClient { BaseAddress = cluster.Gateway.BaseAddress })
            {
                var refused = await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync(new Uri("/healthz", UriKind.Relative)));
                Assert.IsType<AuthenticationException>(refused.InnerException);
            }

            // A gateway whose certificate the cluster does not trust never gets through: it finds both silos in the
            // membership table, the silos end its handshakes, and it keeps waiting for a silo.
            var (intruder, _) = cluster.StartGateway(
                "intruder",
                https: null,
                $"--Reco:Orleans:Tls:CertificatePath={stranger.CertificatePath}",
                $"--Reco:Orleans:Tls:KeyPath={stranger.KeyPath}");
            await Eventually.TrueAsync(
                () => Task.FromResult(intruder.Log().Contains("No silo reachable yet", StringComparison.Ordinal)
                    && intruder.Log().Contains("Unable to connect to any of the 2 available gateways", StringComparison.Ordinal)
                    && cluster.Silos.Any(s => s.Log().Contains("Authentication failed", StringComparison.Ordinal))),
                Deadline,
                "the intruding gateway refused by a silo's TLS handshake");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
