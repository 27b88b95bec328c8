using System.Diagnostics;
using System.Net;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using RecoCluster.Cluster;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Host;

namespace RecoCluster.Bench.Queries;

/// <summary>
/// What the query bench measures: an embedded Kafka, one Orleans silo on SQLite in a temp dir and the gateway (an
/// Orleans client of it), in this process, built by <see cref="ClusterHosts"/> as <c>./reco</c> builds them, with
/// authentication on (the bench sends a read key, as a storefront does). Preloaded through Kafka before anything
/// is measured.
/// </summary>
public sealed class QueryCluster : IAsyncDisposable
{
    /// <summary>The storefront's key. Read scope: what every measured endpoint needs.</summary>
    public const string ReadKey = "bench-read-key-3c9e1f7a52d8";

    /// <summary>The operator's key: the benches ask for neighborhood rounds with it.</summary>
    public const string AdminKey = "bench-admin-key-8f2a6d1c94e7";

    /// <summary>A producer's key, for <c>POST /v1/events</c>.</summary>
    public const string IngestKey = "bench-ingest-key-5b7e03a9c1f4";

    private const int Partitions = 8;

    private readonly EmbeddedKafka _kafka;
    private readonly DirectoryInfo _dataDir;
    private readonly WebApplication _silo;
    private readonly WebApplication _gateway;
    private readonly IngressCheckpoints _checkpoints;

    private QueryCluster(EmbeddedKafka kafka, TopicNames topics, DirectoryInfo dataDir, WebApplication silo, WebApplication gateway, IngressCheckpoints checkpoints, SelfSignedCertificate? tls)
    {
        _kafka = kafka;
        Topics = topics;
        _dataDir = dataDir;
        _silo = silo;
        _gateway = gateway;
        _checkpoints = checkpoints;
        Tls = tls;
        GatewayAddress = new Uri(gateway.Urls.First());
    }

    /// <summary>The throwaway certificate of a cluster started with TLS (the gateway's HTTPS and Orleans' links),
    /// or null.</summary>
    public SelfSignedCertificate? Tls { get; }

    public string BootstrapServers => _kafka.BootstrapServers;

    public TopicNames Topics { get; }

    public Uri GatewayAddress { get; }

    /// <summary>Events the silo has stored on both the user and the item side (its ingresses' checkpoints).</summary>
    public async Task<long> StoredEventsAsync() => (await _checkpoints.ReadAsync()).Stored;

    /// <summary>Starts the cluster; <paramref name="overrides"/> are added to (or replace) its configuration. With
    /// <paramref name="tls"/>, a throwaway self-signed certificate makes the gateway HTTPS (Kestrel's endpoint
    /// settings) and Orleans' links mutual TLS (<c>Reco:Orleans:Tls</c>), as an operator would configure them.</summary>
    public static async Task<QueryCluster> StartAsync(IReadOnlyDictionary<string, string?>? overrides = null, bool tls = false)
    {
        var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"q{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, Partitions);
        var dataDir = Directory.CreateTempSubdirectory("reco-bench-queries-");
        var connection = $"Data Source={Path.Combine(dataDir.FullName, "reco.db")}";
        var config = BenchSiloConfig.For(kafka.BootstrapServers, topics, "Sqlite", connection);
        config["Reco:Gateway:Auth:ReadKeys:0"] = ReadKey;
        config["Reco:Gateway:Auth:AdminKeys:0"] = AdminKey;
        config["Reco:Gateway:Auth:IngestKeys:0"] = IngestKey;
        // Per-key limits protect a shared gateway from one storefront; here the one key is the whole load, and a
        // 429 would measure the limiter instead of the path to the silo.
        config["Reco:Gateway:RateLimits:Read:PermitsPerSecond"] = "1000000";
        config["Reco:Gateway:RateLimits:Read:Burst"] = "1000000";
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        SelfSignedCertificate? certificate = null;
        var gatewayConfig = new Dictionary<string, string?>(config);
        if (tls)
        {
            certificate = SelfSignedCertificate.Write(Path.Combine(dataDir.FullName, "tls"), "reco-bench", TimeSpan.FromDays(1));
            foreach (var c in new[] { config, gatewayConfig })
            {
                c["Reco:Orleans:Tls:CertificatePath"] = certificate.CertificatePath;
                c["Reco:Orleans:Tls:KeyPath"] = certificate.KeyPath;
            }

            // Kestrel's endpoints replace urls (which would only log that they were overridden).
            gatewayConfig.Remove("urls");
            gatewayConfig["Kestrel:Endpoints:Https:Url"] = "https://127.0.0.1:0";
            gatewayConfig["Kestrel:Endpoints:Https:Certificate:Path"] = certificate.CertificatePath;
            gatewayConfig["Kestrel:Endpoints:Https:Certificate:KeyPath"] = certificate.KeyPath;
        }

        var silo = ClusterHosts.BuildSilo([], config);
        var gateway = ClusterHosts.BuildGateway([], gatewayConfig);
        // The silo first: the gateway's Orleans client starts only once it reaches a silo.
        await silo.StartAsync();
        await gateway.StartAsync();
        return new QueryCluster(kafka, topics, dataDir, silo, gateway, IngressCheckpoints.Open("Sqlite", connection), certificate);
    }

    /// <summary>An HTTP handler for this cluster's gateway: one that trusts its throwaway certificate when it has
    /// one.</summary>
    public SocketsHttpHandler Handler(SocketsHttpHandler? handler = null)
    {
        handler ??= new SocketsHttpHandler();
        if (Tls is { } tls)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = tls.IsThis;
        }

        return handler;
    }

    /// <summary>Produces <paramref name="count"/> events through Kafka and waits until the silo has stored them on both
    /// sides and the gateway answers for a preloaded user, then runs a neighborhood round: queries then find warm,
    /// complete state.</summary>
    public async Task PreloadAsync(Workload workload, int count, int seed, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var clock = Stopwatch.StartNew();
        var random = new Random(seed);
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = Partitioner.Murmur2Random,
        }).Build())
        {
            var pending = new List<Task>(10_000);
            for (var i = 0; i < count; i++)
            {
                // Spread over the last hour: inside the co-occurrence time window, and never in the future.
                var evt = workload.Event(random, i, start.AddMilliseconds(i * 3_600_000.0 / count));
                pending.Add(producer.ProduceAsync(Topics.Events, new Message<string, byte[]> { Key = evt.UserId, Value = EventSchema.ToUtf8(evt) }));
                if (pending.Count == pending.Capacity)
                {
                    await Task.WhenAll(pending);
                    pending.Clear();
                }
            }

            await Task.WhenAll(pending);
        }

        // A checkpoint moves once both sides of its batch are stored, so nothing is left in flight once they add up.
        long stored;
        while ((stored = await StoredEventsAsync()) < count)
        {
            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"preload: the silo stored {stored:N0} of {count:N0} events in {deadline}");
            }

            await Task.Delay(50);
        }

        // Everything is stored, but the gateway answers only once its Orleans client has reached the silo (503
        // until then). A misconfigured bench would otherwise measure nothing but errors, so it stops here instead.
        using var http = new HttpClient(Handler()) { BaseAddress = GatewayAddress };
        http.DefaultRequestHeaders.Add("X-Api-Key", ReadKey);
        HttpStatusCode? last = null;
        while (clock.Elapsed < deadline)
        {
            using var response = await http.GetAsync(new Uri($"/v1/users/{Workload.UserId(0)}", UriKind.Relative));
            last = response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                await RebuildAsync(deadline - clock.Elapsed);
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"preload: GET /v1/users/{Workload.UserId(0)} still answers {last} after {deadline}");
    }

    /// <summary>Runs a neighborhood round over the preloaded state, so the recommendation endpoints answer from
    /// real neighborhoods, vectors and popularity (rounds otherwise run once a minute); returns how long it took.</summary>
    public async Task<TimeSpan> RebuildAsync(TimeSpan deadline)
    {
        using var admin = new HttpClient(Handler()) { BaseAddress = GatewayAddress, Timeout = deadline > TimeSpan.Zero ? deadline : TimeSpan.FromSeconds(1) };
        admin.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        var clock = Stopwatch.StartNew();
        using var rebuilt = await admin.PostAsync(new Uri("/v1/admin/neighborhoods/rebuild", UriKind.Relative), null);
        if (!rebuilt.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"preload: the neighborhood rebuild answered {(int)rebuilt.StatusCode}: {await rebuilt.Content.ReadAsStringAsync()}");
        }

        return clock.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.StopAsync();
        await _gateway.DisposeAsync();
        await _silo.StopAsync();
        await _silo.DisposeAsync();
        await _checkpoints.DisposeAsync();
        _kafka.Dispose();
        _dataDir.Delete(recursive: true);
    }
}
