using System.Net.Http.Json;
using System.Text.Json;
using RecoCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// Orleans' Kubernetes hosting (<c>Reco:Orleans:Kubernetes</c>) in silo processes, against a stand-in for the
/// Kubernetes API (<see cref="KubernetesApiStandIn"/>; no API server can run here) reached through a kubeconfig.
/// </summary>
[Collection("cluster")]
public sealed class KubernetesHostingTests(ITestOutputHelper output)
{
    private const string Namespace = "reco-test";

    [Fact]
    public async Task A_deleted_pods_silo_is_declared_dead_by_the_pod_watch_not_left_to_the_probes()
    {
        await using var api = await KubernetesApiStandIn.StartAsync(Namespace);
        var dir = Directory.CreateTempSubdirectory("reco-k8s-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["Reco__Orleans__Kubernetes__Enabled"] = "true",
            ["Reco__Orleans__Kubernetes__KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(dir, "kubeconfig")),
            ["POD_NAMESPACE"] = Namespace,
            ["Logging__LogLevel__Orleans.Hosting.Kubernetes"] = "Information",
        };
        // Failure detection as slow as Orleans' defaults (the other process tests make it fast): a dead silo would
        // be declared after three missed 20 s probes, so a declaration before that comes from the pod watch.
        string[] slowProbes = ["--Reco:Orleans:Membership:ProbeTimeout=00:00:20", "--Reco:Orleans:Membership:NumMissedProbesLimit=3"];
        await using var cluster = await ProcessCluster.StartAsync(TestDatabases.NewSqlite(), silos: 2, environment: environment, siloFlags: slowProbes);
        try
        {
            // Each silo labelled its pod with its Orleans cluster (the stand-in's pods start without labels), and an
            // agent watches the labelled pods.
            foreach (var silo in cluster.Silos)
            {
                await Eventually.TrueAsync(
                    () => Task.FromResult(api.LabelsOf(silo.Name).GetValueOrDefault("orleans/clusterId") == cluster.Prefix),
                    TimeSpan.FromSeconds(30),
                    $"{silo.Name} labelling its pod with its cluster id");
            }

            await Eventually.TrueAsync(() => Task.FromResult(api.Watchers > 0), TimeSpan.FromSeconds(30), "a silo watching the cluster's pods");

            // The node under silo-2 is lost: its process dies with no goodbye, and Kubernetes deletes its pod.
            var lost = cluster.Silos.Single(s => s.Name == "silo-2");
            var survivor = cluster.Silos.Single(s => s.Name == "silo-1");
            cluster.Kill(lost);
            api.DeletePod(lost.Name);

            await Eventually.TrueAsync(
                () => Task.FromResult(survivor.Log().Contains("dead since its corresponding pod, silo-2, has been deleted", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30),
                "silo-1 declaring silo-2 dead for its deleted pod");
            await cluster.WaitUntilReadyAsync();
            var view = await cluster.Gateway.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
            Assert.Equal(["silo-1"], view.GetProperty("silos").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
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
