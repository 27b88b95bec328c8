using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Cluster;
using RecoCluster.Host;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>A gateway and its own embedded Kafka, for what the gateway decides alone (keys, scopes, limits,
/// validation, ingest). One silo (SQLite, localhost clustering) runs behind it, because an Orleans client starts
/// only once it reaches a cluster.</summary>
public sealed class GatewayOnly : IAsyncDisposable
{
    private readonly WebApplication _silo;

    private GatewayOnly(EmbeddedKafka kafka, TopicNames topics, WebApplication silo, WebApplication app, Uri address)
    {
        Kafka = kafka;
        Topics = topics;
        _silo = silo;
        App = app;
        Address = address;
    }

    public EmbeddedKafka Kafka { get; }

    public TopicNames Topics { get; }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>The HTTP address of the silo behind the gateway (health, metrics, the Orleans dashboard).</summary>
    public Uri SiloAddress => new(_silo.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

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
        var ports = TestPorts.Free(2);
        config["Reco:Orleans:ClusterId"] = topics.Prefix;
        config["Reco:Orleans:SiloPort"] = ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture);
        config["Reco:Orleans:PrimarySiloPort"] = ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture);
        config["Reco:Orleans:GatewayPort"] = ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture);
        config["Reco:Storage:ConnectionString"] = TestDatabases.NewSqlite().ConnectionString;
        config["Logging:LogLevel:Orleans"] = "Error";
        config["Logging:LogLevel:Polly"] = "Error";
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

        var silo = ClusterHosts.BuildSilo([], config);
        await silo.StartAsync();

        var app = ClusterHosts.BuildGateway([], config);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new GatewayOnly(kafka, topics, silo, app, address);
    }

    /// <summary>A client sending <paramref name="key"/>, or no key when null.</summary>
    public HttpClient Client(string? key) => TestKeys.Client(Address, key);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await _silo.StopAsync();
        await _silo.DisposeAsync();

        Kafka.Dispose();
    }
}
