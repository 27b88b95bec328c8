using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>
/// The part of the Kubernetes API that Orleans' Kubernetes hosting calls (read, patch, list and watch the pods of one
/// namespace), served over HTTP on loopback, with a kubeconfig that points at it.
/// </summary>
/// <remarks>
/// A stand-in, written by hand because no API server can run here: these machines have no container engine, and
/// kube-apiserver needs etcd. It speaks the API's JSON as KubernetesClient reads it (objects, lists, and watch
/// events one per line); a pod exists once a silo asks for itself, as its own pod would.
/// </remarks>
public sealed class KubernetesApiStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    // Pods by name, with their labels; every access holds _gate.
    private readonly Dictionary<string, JsonObject> _labels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Channel<string>, byte> _watchers = new();
    private readonly Lock _gate = new();

    private KubernetesApiStandIn(WebApplication app, string ns)
    {
        _app = app;
        Namespace = ns;
    }

    public string Namespace { get; }

    public Uri Address => new(_app.Urls.First());

    /// <summary>Watches open now (each agent that monitors the pods holds one).</summary>
    public int Watchers => _watchers.Count;

    /// <summary>The labels of <paramref name="pod"/>, as the silos left them.</summary>
    public IReadOnlyDictionary<string, string> LabelsOf(string pod)
    {
        lock (_gate)
        {
            return _labels.TryGetValue(pod, out var labels)
                ? labels.ToDictionary(l => l.Key, l => l.Value!.GetValue<string>(), StringComparer.Ordinal)
                : new Dictionary<string, string>();
        }
    }

    public static async Task<KubernetesApiStandIn> StartAsync(string ns)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var api = new KubernetesApiStandIn(app, ns);
        var pods = app.MapGroup($"/api/v1/namespaces/{ns}/pods");
        pods.MapGet("/{name}", (string name) => Results.Text(api.Pod(name).ToJsonString(), "application/json"));
        pods.MapMethods("/{name}", ["PATCH"], async (string name, HttpRequest request) =>
        {
            var patch = await JsonNode.ParseAsync(request.Body);
            api.MergeLabels(name, patch?["metadata"]?["labels"]?.AsObject());
            return Results.Text(api.Pod(name).ToJsonString(), "application/json");
        });
        pods.MapGet("/", async (HttpContext context) =>
        {
            var selector = Selector(context.Request.Query["labelSelector"]);
            if (context.Request.Query["watch"] == "true")
            {
                await api.WatchAsync(context, selector);
                return;
            }

            var list = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "PodList",
                ["metadata"] = new JsonObject(),
                ["items"] = new JsonArray([.. api.Matching(selector)]),
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(list.ToJsonString());
        });
        await app.StartAsync();
        return api;
    }

    /// <summary>Writes a kubeconfig that reaches this API with a bearer token, and returns its path.</summary>
    public string WriteKubeconfig(string path)
    {
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
              - name: stand-in
                cluster:
                  server: {Address.ToString().TrimEnd('/')}
            users:
              - name: silo
                user:
                  token: stand-in-token
            contexts:
              - name: stand-in
                context:
                  cluster: stand-in
                  user: silo
                  namespace: {Namespace}
            current-context: stand-in
            """);
        return path;
    }

    /// <summary>Deletes a pod, as Kubernetes does when a node is lost or an operator deletes it: every watch whose
    /// selector matched it gets a DELETED event.</summary>
    public void DeletePod(string name)
    {
        JsonObject pod;
        lock (_gate)
        {
            pod = Pod(name);
            _labels.Remove(name);
        }

        var line = new JsonObject { ["type"] = "DELETED", ["object"] = pod }.ToJsonString();
        foreach (var watcher in _watchers.Keys)
        {
            watcher.Writer.TryWrite(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var watcher in _watchers.Keys)
        {
            watcher.Writer.TryComplete();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static Dictionary<string, string> Selector(string? labelSelector) =>
        (labelSelector ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(term => term.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : string.Empty, StringComparer.Ordinal);

    private async Task WatchAsync(HttpContext context, Dictionary<string, string> selector)
    {
        var channel = Channel.CreateUnbounded<string>();
        foreach (var pod in Matching(selector))
        {
            channel.Writer.TryWrite(new JsonObject { ["type"] = "ADDED", ["object"] = pod }.ToJsonString());
        }

        _watchers[channel] = 0;
        try
        {
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(context.RequestAborted);
            await foreach (var line in channel.Reader.ReadAllAsync(context.RequestAborted))
            {
                var labels = JsonNode.Parse(line)!["object"]!["metadata"]!["labels"]!.AsObject();
                if (selector.All(s => labels[s.Key]?.GetValue<string>() == s.Value))
                {
                    await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The silo closed its watch (it stopped, or stopped monitoring).
        }
        finally
        {
            _watchers.TryRemove(channel, out _);
        }
    }

    private List<JsonObject> Matching(Dictionary<string, string> selector)
    {
        lock (_gate)
        {
            return [.. _labels.Keys.Order(StringComparer.Ordinal).Select(Pod)
                .Where(p => selector.All(s => p["metadata"]!["labels"]![s.Key]?.GetValue<string>() == s.Value))];
        }
    }

    private void MergeLabels(string name, JsonObject? labels)
    {
        lock (_gate)
        {
            var current = LabelsLocked(name);
            foreach (var (key, value) in labels ?? [])
            {
                current[key] = value?.DeepClone();
            }
        }
    }

    // A pod exists once asked for (as a silo's own pod does).
    private JsonObject LabelsLocked(string name)
    {
        if (!_labels.TryGetValue(name, out var labels))
        {
            _labels[name] = labels = [];
        }

        return labels;
    }

    private JsonObject Pod(string name)
    {
        lock (_gate)
        {
            var labels = LabelsLocked(name);
            return new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["namespace"] = Namespace,
                    ["uid"] = $"uid-{name}",
                    ["labels"] = labels.DeepClone(),
                },
                ["status"] = new JsonObject { ["phase"] = "Running" },
            };
        }
    }
}
