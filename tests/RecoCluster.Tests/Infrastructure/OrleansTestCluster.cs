using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.TestingHost;
using RecoCluster.Cluster;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Hosting;
using RecoCluster.Silo.Ingress;
using RecoCluster.Silo.Storage;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>
/// Orleans silos in the test process (Orleans' <see cref="Orleans.TestingHost.TestCluster"/>, over real TCP) with
/// the project's grains, group-commit storage and partition ingresses, reading a real Kafka protocol endpoint
/// (librdkafka's mock cluster) and storing into a real database (a SQLite file or PostgreSQL).
/// </summary>
public sealed class OrleansTestCluster : IAsyncDisposable
{

    private OrleansTestCluster(EmbeddedKafka kafka, TopicNames topics, int partitions, TestStorage storage, Orleans.TestingHost.TestCluster cluster)
    {
        Kafka = kafka;
        Topics = topics;
        Partitions = partitions;
        Storage = storage;
        Cluster = cluster;
        Store = GrainStore.Open(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString });
    }

    public Orleans.TestingHost.TestCluster Cluster { get; }

    /// <summary>The embedded Kafka, for its fault injectors (a broker down, then up).</summary>
    public EmbeddedKafka Kafka { get; }

    /// <summary>The cluster's database, for reading what is stored.</summary>
    public GrainStore Store { get; }

    public IGrainFactory Grains => Cluster.GrainFactory;

    /// <summary>Whether membership lives on the primary silo (TestingHost's own), which must then not be killed;
    /// false when it is in PostgreSQL (Orleans' ADO.NET clustering over the project's schema).</summary>
    public bool MembershipOnPrimary { get; private init; }

    public TopicNames Topics { get; }

    public int Partitions { get; }

    public TestStorage Storage { get; }

    public string BootstrapServers => Kafka.BootstrapServers;

    /// <summary>Starts Kafka with fresh topics and <paramref name="silos"/> silos on <paramref name="storage"/>, and
    /// waits until every partition's ingress runs on its home silo.</summary>
    /// <param name="storage">The database.</param>
    /// <param name="silos">Silos to start.</param>
    /// <param name="partitions">Partitions of the events topic.</param>
    /// <param name="settings">Configuration on top of the test rule's.</param>
    /// <param name="beforeSilos">Runs once the topics exist and before any silo starts (to put records in the log
    /// that a stored state already counts, say).</param>
    public static async Task<OrleansTestCluster> StartAsync(TestStorage storage, int silos = 2, int partitions = 4, IReadOnlyDictionary<string, string>? settings = null, Func<string, TopicNames, Task>? beforeSilos = null)
    {
        var kafka = EmbeddedKafka.Start();
        var topics = new TopicNames($"t{Guid.NewGuid():N}"[..12]);
        kafka.CreateTopics(topics, partitions);
        if (beforeSilos is not null)
        {
            await beforeSilos(kafka.BootstrapServers, topics);
        }

        var builder = new TestClusterBuilder((short)silos);
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;

        // On PostgreSQL the silos keep their membership in the database, as production does (so any silo may be
        // killed); on SQLite they use TestingHost's own membership, which lives on the primary silo.
        var adoNetClustering = storage.Provider == "Postgres";
        if (adoNetClustering)
        {
            builder.Options.UseTestClusterMembership = false;
            builder.Properties["Reco:Orleans:Clustering"] = "AdoNet";
            builder.AddClientBuilderConfigurator<ClientConfigurator>();
        }

        builder.Properties["Reco:Kafka:BootstrapServers"] = kafka.BootstrapServers;
        builder.Properties["Reco:Kafka:TopicPrefix"] = topics.Prefix;
        builder.Properties["Reco:Storage:Provider"] = storage.Provider;
        builder.Properties["Reco:Storage:ConnectionString"] = storage.ConnectionString;
        foreach (var (key, value) in Recount.TestRuleSettings.Concat(settings ?? new Dictionary<string, string>()))
        {
            builder.Properties[key] = value;
        }

        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        var started = new OrleansTestCluster(kafka, topics, partitions, storage, cluster) { MembershipOnPrimary = !adoNetClustering };
        await started.WaitUntilIngressesSettledAsync(TimeSpan.FromMinutes(1));
        return started;
    }

    /// <summary>Waits until every partition's ingress runs on its home among the active silos. Silos join one after
    /// another, so the first one starts every ingress and the others take theirs over a few keeper rounds later: a
    /// test that cuts a dependency before that would catch a partition in the middle of its move.</summary>
    public async Task WaitUntilIngressesSettledAsync(TimeSpan deadline)
    {
        await Eventually.TrueAsync(
            async () =>
            {
                var active = Cluster.GetActiveSilos().Select(s => s.SiloAddress).ToList();
                var statuses = await IngressesAsync();
                return statuses.All(s => s.Silo == PartitionSpreadPlacement.Home(s.Partition, active).ToString());
            },
            deadline,
            "every partition's ingress on its home silo");
    }

    /// <summary>Produces events keyed by user, as the gateway does, and waits for Kafka's acknowledgement.</summary>
    public Task ProduceAsync(IEnumerable<ClickEvent> events) => ProduceAsync(BootstrapServers, Topics, events);

    /// <summary>Produces events keyed by user to <paramref name="topics"/>' events topic.</summary>
    public static async Task ProduceAsync(string bootstrapServers, TopicNames topics, IEnumerable<ClickEvent> events)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = Partitioner.Murmur2Random,
            LingerMs = 5,
        }).Build();
        await Task.WhenAll(events.Select(e => producer.ProduceAsync(topics.Events, new Message<string, byte[]> { Key = e.UserId, Value = EventSchema.ToUtf8(e) })));
    }

    /// <summary>Produces records as they are, for tests of invalid input.</summary>
    public async Task ProduceRawAsync(IEnumerable<Message<byte[]?, byte[]?>> messages)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = BootstrapServers, Acks = Acks.All, EnableIdempotence = true, Partitioner = Partitioner.Murmur2Random }).Build();
        await Task.WhenAll(messages.Select(m => producer.ProduceAsync(Topics.Events, m)));
    }

    /// <summary>Every partition's ingress, as it reports itself (activating those that are not running).</summary>
    public async Task<IngressStatus[]> IngressesAsync() =>
        await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => Grains.GetGrain<IPartitionIngressGrain>(p).EnsureRunningAsync()));

    /// <summary>The end of log of every events partition.</summary>
    public long[] HighWatermarks()
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = BootstrapServers, GroupId = $"test-{Guid.NewGuid():N}" }).Build();
        return Enumerable.Range(0, Partitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(Topics.Events, p), TimeSpan.FromSeconds(10)).High.Value)
            .ToArray();
    }

    /// <summary>The service container of every running silo, for reading what a silo holds (its snapshot).</summary>
    public IEnumerable<IServiceProvider> SiloServices =>
        Cluster.Silos.OfType<InProcessSiloHandle>().Where(s => s.IsActive).Select(s => s.SiloHost.Services);

    /// <summary>The snapshot version each running silo serves.</summary>
    public List<long> ServedVersions() =>
        SiloServices.Select(s => s.GetRequiredService<SnapshotHolder>().Current.Version).ToList();

    /// <summary>Orleans' membership rows in PostgreSQL (ADO.NET clustering): silo endpoint "address:port" → status
    /// (Orleans' SiloStatus: 3 active, 6 dead), for the newest generation of each endpoint.</summary>
    public async Task<Dictionary<string, int>> MembershipAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(Storage.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT address, port, status FROM reco_membership ORDER BY generation;", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<string, int>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            rows[$"{reader.GetString(0)}:{reader.GetInt32(1)}"] = reader.GetInt32(2);
        }

        return rows;
    }

    /// <summary>The newest neighborhood round row, or null.</summary>
    public Task<RoundRow?> LatestRoundAsync() => Store.LatestRoundAsync(CancellationToken.None);

    /// <summary>The stored ingress checkpoints, partition → next offset (partitions never checkpointed are missing).</summary>
    public async Task<IReadOnlyDictionary<int, IngressClaim>> CheckpointsAsync() => await Store.ReadIngressCheckpointsAsync(CancellationToken.None);

    /// <summary>Waits until every events partition is checkpointed at its end of log: every produced event is
    /// stored in its user and in the item shards.</summary>
    public async Task WaitUntilCaughtUpAsync(TimeSpan deadline)
    {
        var ends = HighWatermarks();
        await Eventually.TrueAsync(
            async () =>
            {
                var checkpoints = await CheckpointsAsync();
                return Enumerable.Range(0, Partitions).All(p => ends[p] == 0 || (checkpoints.TryGetValue(p, out var c) && c.NextOffset == ends[p] && c.PendingEnd is null));
            },
            deadline,
            $"every partition checkpointed at its end of log ({string.Join(", ", ends)})");
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Store.DisposeAsync();
        Kafka.Dispose();
    }

    /// <summary>Makes every test silo a RecoCluster silo, from the cluster's configuration.</summary>
    public sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.UseRecoClustering(siloBuilder.Configuration).AddRecoGrains(siloBuilder.Configuration);
            if (Environment.GetEnvironmentVariable("RECO_TEST_SILO_LOGS") is "1")
            {
                siloBuilder.Services.AddLogging(b => b.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").AddFilter("Orleans", LogLevel.Warning)
                    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
            }

            // A killed test silo is declared dead within seconds, not the production default's half a minute.
            siloBuilder.Services.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
            });
        }
    }

    /// <summary>Makes the test client find its gateways in the membership table, as the gateway does.</summary>
    public sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseRecoClustering(configuration);
    }
}
