using System.Net.Http.Json;
using System.Text.Json;
using RecoCluster.Host;
using RecoCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RecoCluster.Tests.Integration;

/// <summary>The Orleans dashboard a silo serves, loaded in a real browser (Debian's headless Chromium, which
/// <c>./reco test</c> installs): the page runs its scripts against the silo and shows the silos and the project's
/// grain types.</summary>
public sealed class DashboardTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_dashboard_shows_the_silo_and_the_grain_types_in_a_headless_browser()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run the tests through ./reco test, which installs Debian's chromium package");
        await using var gateway = await GatewayOnly.StartAsync();
        // Traffic, so that the partition ingresses and the recommender are active grains.
        using var client = gateway.Client(TestKeys.Admin);
        var cluster = await client.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
        // The silo's Orleans address holds its endpoint (host:port), which the dashboard shows.
        var silo = Assert.Single(cluster.GetProperty("silos").EnumerateArray()).GetProperty("address").GetString()!;
        var endpoint = System.Text.RegularExpressions.Regex.Match(silo, @"\d+\.\d+\.\d+\.\d+:\d+").Value;
        Assert.False(string.IsNullOrEmpty(endpoint), $"no endpoint in the silo address '{silo}'");

        var page = new Uri(gateway.SiloAddress, ClusterHosts.DashboardPath + "/");
        var dom = await Eventually.ValueAsync(
            async () =>
            {
                var text = await DumpDomAsync(page);
                return text.Contains("PartitionIngressGrain", StringComparison.Ordinal) ? text : null;
            },
            TimeSpan.FromMinutes(2),
            "the dashboard's page to list the partition ingress grains");
        output.WriteLine($"silo {silo}");
        output.WriteLine(dom);

        Assert.Contains("Silos", dom, StringComparison.Ordinal);

        // Its silos page lists the silo by its endpoint.
        var silos = await Eventually.ValueAsync(
            async () =>
            {
                var text = await DumpDomAsync(new Uri(page, "#/silos"));
                return text.Contains(endpoint, StringComparison.Ordinal) ? text : null;
            },
            TimeSpan.FromMinutes(2),
            $"the dashboard's silos page to list {endpoint}");
        Assert.Contains(endpoint, silos, StringComparison.Ordinal);
        Assert.Contains("PartitionIngressGrain", dom, StringComparison.Ordinal);
    }

    // Chromium without a sandbox (the tests run as root), without its background connections (the machine's network
    // is closed to them), in a profile of its own; the virtual time budget lets the page's scripts fetch and render
    // before the DOM is printed.
    private static async Task<string> DumpDomAsync(Uri page)
    {
        var profile = Directory.CreateTempSubdirectory("reco-chromium-").FullName;
        try
        {
            var (_, stdout, stderr) = await ChildProcess.RunAsync(Chromium, [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", page.ToString(),
            ]);
            return stdout + stderr;
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }
}
