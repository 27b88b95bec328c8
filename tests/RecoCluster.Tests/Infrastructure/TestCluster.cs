using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Cluster;
using RecoCluster.Host;
using RecoCluster.Silo.Ingress;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>
/// An in-process cluster as users run it: librdkafka's mock cluster over real TCP, N silos and one gateway
/// built by the same <see cref="ClusterHosts"/> code as the <c>reco</c> processes, real Kestrel, real storage.
/// Each instance has its own Kafka, topic prefix and database, so tests never see each other's data. Silos and the
/// gateway find each other in Orleans' membership table in PostgreSQL, as in production, so any silo
/// may stop and new ones join: in the storage's database on PostgreSQL, in a database of its own when the grain
/// state is in SQLite.
/// </summary>
public sealed class TestCluster : IClusterUnderTest, IAsyncDisposable
{
    private readonly List<WebApplication> _silos = [];
    private WebApplication? _gateway;
    private readonly List<WebApplication> _otherGateways = [];
    private readonly string _membership;

    private readonly IReadOnlyDictionary<string, string?> _overrides;

    private TestCluster(EmbeddedKafka kafka, string prefix, int partitions, TestStorage storage, string membership, IReadOnlyDictionary<string, string?>? overrides)
    {
        Kafka = kafka;
        Prefix = prefix;
        Partitions = partitions;
        Storage = storage;
        _membership = membership;
        _overrides = overrides ?? new Dictionary<string, string?>();
    }

    public EmbeddedKafka Kafka { get; }

    public string Prefix { get; }

    public int Partitions { get; }

    public TestStorage Storage { get; }

    public TopicNames Topics => new(Prefix);

    public string BootstrapServers => Kafka.BootstrapServers;

    /// <summary>A client of the gateway with the admin key (which may call every endpoint).</summary>
    public HttpClient Gateway { get; private set; } = null!;

    /// <summary>The gateway's base address.</summary>
    public Uri GatewayAddress { get; private set; } = null!;

    /// <summary>A new client of the gateway sending <paramref name="key"/>, or no key when null.</summary>
    public HttpClient Client(string? key) => TestKeys.Client(GatewayAddress, key);

    public IReadOnlyList<WebApplication> Silos => _silos;

    public static async Task<TestCluster> StartAsync(TestStorage storage, int silos = 1, int partitions = 8, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var membership = storage.Provider == "Postgres" ? storage.ConnectionString : (await TestDatabases.NewPostgresAsync()).ConnectionString;
        var kafka = EmbeddedKafka.Start();
        var prefix = $"t{Guid.NewGuid():N}"[..12];
        kafka.CreateTopics(new TopicNames(prefix), partitions);
        var cluster = new TestCluster(kafka, prefix, partitions, storage, membership, overrides);

        for (var i = 0; i < silos; i++)
        {
            await cluster.AddSiloAsync();
        }

        await cluster.StartGatewayAsync();
        await cluster.WaitUntilReadyAsync();
        return cluster;
    }

    /// <summary>Configuration every process of this cluster shares.</summary>
    public Dictionary<string, string?> BaseConfig()
    {
        var config = new Dictionary<string, string?>
        {
        ["Reco:Kafka:BootstrapServers"] = Kafka.BootstrapServers,
        ["Reco:Kafka:TopicPrefix"] = Prefix,
        ["Reco:Storage:Provider"] = Storage.Provider,
        ["Reco:Storage:ConnectionString"] = Storage.ConnectionString,
        ["Logging:LogLevel:Default"] = "Warning",
        // Orleans warns at length about every connection a stopping test silo drops; real problems fail the test.
        ["Logging:LogLevel:Orleans"] = "Error",
        ["Logging:LogLevel:Polly"] = "Error",
        ["urls"] = "http://127.0.0.1:0",
        };
        foreach (var (key, value) in TestKeys.Config())
        {
            config[key] = value;
        }

        config["Reco:Orleans:ClusterId"] = Prefix;
        config["Reco:Orleans:Clustering"] = "AdoNet";
        config["Reco:Orleans:ConnectionString"] = _membership;

        // The co-occurrence rule the recount checks against: weights, time window and daily cap all active.
        foreach (var (key, value) in Recount.TestRuleSettings)
        {
            config[key] = value;
        }

        foreach (var (key, value) in _overrides)
        {
            config[key] = value;
        }

        return config;
    }

    public async Task<WebApplication> AddSiloAsync()
    {
        var config = BaseConfig();
        var ports = TestPorts.Free(2);
        config["Reco:Orleans:SiloPort"] = ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture);
        config["Reco:Orleans:GatewayPort"] = ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture);

        var silo = ClusterHosts.BuildSilo([], config);
        await silo.StartAsync();
        _silos.Add(silo);
        return silo;
    }

    /// <summary>Stops a silo the way SIGTERM does: final checkpoints, then it leaves the group.</summary>
    public async Task StopSiloAsync(WebApplication silo)
    {
        _silos.Remove(silo);
        await silo.StopAsync();
        await silo.DisposeAsync();
    }

    /// <summary>An Orleans silo's address.</summary>
    public static SiloAddress AddressOf(WebApplication silo) => silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

    /// <summary>Waits until the gateway's view shows every silo, and every partition's ingress running on its home
    /// silo.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? deadline = null) =>
        await WaitUntilIngressesSettledAsync(deadline ?? TimeSpan.FromSeconds(90));

    private async Task WaitUntilIngressesSettledAsync(TimeSpan deadline) =>
        await Eventually.TrueAsync(
            async () =>
            {
                using var ready = await Gateway.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (!ready.IsSuccessStatusCode)
                {
                    return false;
                }

                var addresses = _silos.Select(AddressOf).ToList();
                var view = await Gateway.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
                var silos = view.GetProperty("silos").EnumerateArray().Select(s => s.GetProperty("address").GetString()).Order(StringComparer.Ordinal);
                var partitions = view.GetProperty("partitions").EnumerateArray().ToList();
                return silos.SequenceEqual(addresses.Select(a => a.ToString()).Order(StringComparer.Ordinal))
                    && partitions.Count == Partitions
                    && partitions.All(p => p.GetProperty("status").ValueKind == JsonValueKind.Object
                        && p.GetProperty("status").GetProperty("silo").GetString() == PartitionSpreadPlacement.Home(p.GetProperty("partition").GetInt32(), addresses).ToString());
            },
            deadline,
            "the gateway seeing every silo, and every partition's ingress on its home silo");

    /// <summary>Starts another gateway on the same cluster and Kafka (a second Orleans client, with its own
    /// producer and its own record of what it produced), with <paramref name="overrides"/> on top of the cluster's
    /// settings, and returns a client of it with the admin key.</summary>
    public async Task<HttpClient> StartOtherGatewayAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var config = BaseConfig();
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        var gateway = ClusterHosts.BuildGateway([], config);
        _otherGateways.Add(gateway);
        await gateway.StartAsync();
        var address = gateway.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return TestKeys.Client(new Uri(address), TestKeys.Admin);
    }

    public async ValueTask DisposeAsync()
    {
        Gateway?.Dispose();
        foreach (var other in _otherGateways)
        {
            await other.StopAsync();
            await other.DisposeAsync();
        }

        if (_gateway is not null)
        {
            await _gateway.StopAsync();
            await _gateway.DisposeAsync();
        }

        foreach (var silo in _silos.ToArray())
        {
            await StopSiloAsync(silo);
        }

        Kafka.Dispose();
    }

    private async Task StartGatewayAsync()
    {
        _gateway = ClusterHosts.BuildGateway([], BaseConfig());
        await _gateway.StartAsync();
        var address = _gateway.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        GatewayAddress = new Uri(address);
        Gateway = Client(TestKeys.Admin);
    }
}
