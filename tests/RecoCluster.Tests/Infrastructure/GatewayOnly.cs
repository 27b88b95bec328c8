using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Cluster;
using RecoCluster.Host;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>A gateway and its own embedded Kafka, without silos: for what the gateway decides alone (keys,
/// scopes, limits, validation, ingest), started in about a second.</summary>
public sealed class GatewayOnly : IAsyncDisposable
{
    private GatewayOnly(EmbeddedKafka kafka, TopicNames topics, WebApplication app, Uri address)
    {
        Kafka = kafka;
        Topics = topics;
        App = app;
        Address = address;
    }

    public EmbeddedKafka Kafka { get; }

    public TopicNames Topics { get; }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>Starts Kafka and a gateway configured with <see cref="TestKeys"/> and <paramref name="overrides"/>
    /// (a null value removes the key).</summary>
    public static async Task<GatewayOnly> StartAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"g{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, 4);
        var config = TestKeys.Config();
        config["Reco:Kafka:BootstrapServers"] = kafka.BootstrapServers;
        config["Reco:Kafka:TopicPrefix"] = topics.Prefix;
        config["Logging:LogLevel:Default"] = "Warning";
        config["urls"] = "http://127.0.0.1:0";
        // The first runtime's gateway starts without any silo; an Orleans client waits for one (issue 14).
        config["Reco:Runtime"] = "Partitions";
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                config.Remove(key);
            }
            else
            {
                config[key] = value;
            }
        }

        var app = ClusterHosts.BuildGateway([], config);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new GatewayOnly(kafka, topics, app, address);
    }

    /// <summary>A client sending <paramref name="key"/>, or no key when null.</summary>
    public HttpClient Client(string? key) => TestKeys.Client(Address, key);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Kafka.Dispose();
    }
}
