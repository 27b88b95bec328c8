using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Gateway;
using RecoCluster.Gateway.Security;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Host;
using RecoCluster.Silo.Ingress;
using RecoCluster.Silo.Items;
using RecoCluster.Silo.Storage;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

public class ConfigurationTests
{
    private static IConfiguration Shipped() => new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: false)
        .Build();

    [Fact]
    public void The_shipped_annotated_config_loads_validates_and_matches_the_code_defaults()
    {
        var config = Shipped();
        var kafka = config.GetSection(KafkaOptions.Section).Get<KafkaOptions>()!;
        var storage = config.GetSection(StorageOptions.Section).Get<StorageOptions>()!;
        var gateway = config.GetSection(GatewayOptions.Section).Get<GatewayOptions>()!;
        var user = config.GetSection("Reco:Grains:User").Get<UserGrainOptions>()!;
        var auth = config.GetSection(GatewayAuthOptions.Section).Get<GatewayAuthOptions>()!;
        var limits = config.GetSection(GatewayRateLimitOptions.Section).Get<GatewayRateLimitOptions>()!;
        var ingress = config.GetSection(IngressOptions.Section).Get<IngressOptions>()!;
        var items = config.GetSection(ItemShardOptions.Section).Get<ItemShardOptions>()!;
        var orleans = config.GetSection(OrleansClusterOptions.Section).Get<OrleansClusterOptions>()!;
        var neighborhoods = config.GetSection(NeighborhoodOptions.Section).Get<NeighborhoodOptions>()!;
        var recommendations = config.GetSection(RecommenderOptions.Section).Get<RecommenderOptions>()!;

        Assert.True(new KafkaOptionsValidator().Validate(null, kafka).Succeeded);
        Assert.True(new StorageOptionsValidator().Validate(null, storage).Succeeded);
        Assert.True(new GatewayOptionsValidator().Validate(null, gateway).Succeeded);
        Assert.True(new GatewayRateLimitOptionsValidator().Validate(null, limits).Succeeded);
        Assert.True(new IngressOptionsValidator().Validate(null, ingress).Succeeded);
        Assert.True(new ItemShardOptionsValidator().Validate(null, items).Succeeded);
        Assert.True(new OrleansClusterOptionsValidator().Validate(null, orleans).Succeeded);

        // The file documents the defaults; it must not drift from them.
        Assert.Equivalent(new KafkaOptions(), kafka);
        Assert.Equivalent(new StorageOptions(), storage);
        Assert.Equivalent(new GatewayOptions(), gateway);
        Assert.Equivalent(new UserGrainOptions(), user);
        Assert.Equivalent(new GatewayAuthOptions(), auth);
        Assert.Equivalent(new GatewayRateLimitOptions(), limits);
        Assert.Equivalent(new IngressOptions(), ingress);
        Assert.Equivalent(new ItemShardOptions(), items);
        Assert.Equivalent(new OrleansClusterOptions(), orleans);
        Assert.Equivalent(new NeighborhoodOptions(), neighborhoods);
        Assert.Equivalent(new RecommenderOptions(), recommendations);
    }

    [Fact]
    public void AdoNet_clustering_without_a_postgres_connection_string_stops_start_up_naming_the_settings()
    {
        var sqlite = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Reco:Orleans:Clustering"] = "AdoNet",
            ["Reco:Storage:Provider"] = "Sqlite",
        }).Build();
        var error = Assert.Throws<OptionsValidationException>(() => RecoClustering.Read(sqlite));
        Assert.Contains("Reco:Orleans:ConnectionString", error.Message, StringComparison.Ordinal);

        // With PostgreSQL storage, membership shares its connection string.
        var postgres = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Reco:Orleans:Clustering"] = "AdoNet",
            ["Reco:Storage:Provider"] = "Postgres",
            ["Reco:Storage:ConnectionString"] = "Host=db;Database=reco",
        }).Build();
        Assert.Equal("Host=db;Database=reco", RecoClustering.Read(postgres).ConnectionString);
    }

    [Fact]
    public void Orleans_tls_settings_that_cannot_work_stop_start_up_naming_the_setting()
    {
        var dir = Directory.CreateTempSubdirectory("reco-tls-config-").FullName;
        try
        {
            var certificate = SelfSignedCertificate.Write(dir, "reco-config", TimeSpan.FromHours(2));
            static IEnumerable<string> Failures(OrleansTlsOptions tls) =>
                new OrleansClusterOptionsValidator().Validate(null, new OrleansClusterOptions { Tls = tls }).Failures ?? [];

            Assert.Empty(Failures(new OrleansTlsOptions()));
            Assert.Empty(Failures(new OrleansTlsOptions { CertificatePath = certificate.CertificatePath, KeyPath = certificate.KeyPath }));
            Assert.Equal(
                ["Reco:Orleans:Tls:CertificatePath is set without Reco:Orleans:Tls:KeyPath (the certificate's private key, PEM)."],
                Failures(new OrleansTlsOptions { CertificatePath = certificate.CertificatePath }));
            Assert.Equal(
                ["Reco:Orleans:Tls:KeyPath or CaPath is set without Reco:Orleans:Tls:CertificatePath; set the certificate too, or neither."],
                Failures(new OrleansTlsOptions { CaPath = certificate.CertificatePath }));
            var missing = Path.Combine(dir, "ca.crt");
            Assert.Equal(
                [$"Reco:Orleans:Tls:CaPath is '{missing}', which is not a readable file."],
                Failures(new OrleansTlsOptions { CertificatePath = certificate.CertificatePath, KeyPath = certificate.KeyPath, CaPath = missing }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_setting_of_the_removed_first_runtime_stops_start_up_saying_what_replaced_it()
    {
        var error = Assert.Throws<OptionsValidationException>(() => ClusterHosts.BuildSilo([], new Dictionary<string, string?>
        {
            ["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Reco:Runtime"] = "Partitions",
            ["Reco:Silo:MaxQueuedRecordsPerPartition"] = "5000",
            ["Reco:Directory:HeartbeatMs"] = "500",
            ["urls"] = "http://127.0.0.1:0",
        }));

        Assert.Equal(
            [
                "Reco:Runtime is no longer a setting: the first runtime was removed and every silo is an Orleans silo; remove the setting.",
                "Reco:Silo:MaxQueuedRecordsPerPartition is no longer a setting: use Reco:Ingress:MaxBufferedRecords.",
                "Reco:Directory is no longer a setting: Orleans' membership (Reco:Orleans) replaced the directory topic; remove the section.",
            ],
            error.Failures);

        // The gateway checks the same list; the silo's name (Reco:Silo:Id) is still a setting.
        var gateway = Assert.Throws<OptionsValidationException>(() => ClusterHosts.BuildGateway([], new Dictionary<string, string?>
        {
            ["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Reco:Silo:Id"] = "silo-a",
            ["Reco:Cluster:Secret"] = "0123456789abcdef0123",
            ["Reco:Gateway:Auth:ReadKeys:0"] = TestKeys.Read,
            ["urls"] = "http://127.0.0.1:0",
        }));
        Assert.StartsWith("Reco:Cluster:Secret is no longer a setting", Assert.Single(gateway.Failures), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3_000, 200, 2_000, 2_000)] // the defaults: all of it
    [InlineData(10_000, 8_000, 2_000, 1_000)] // what the deadline leaves after the wait and a tenth of itself
    [InlineData(1_000, 900, 2_000, 0)] // nothing left: a deadline set before the setting existed still holds
    public void A_reads_start_wait_is_cut_to_what_the_route_deadline_leaves(int deadline, int wait, int startWait, int expected)
    {
        var options = new GatewayOptions { RouteDeadlineMs = deadline, ReadYourWritesWaitMs = wait, ReadYourWritesStartWaitMs = startWait };
        Assert.True(new GatewayOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(TimeSpan.FromMilliseconds(expected), options.StartWait);
        options.ReadYourWritesStartWaitMs = -1;
        Assert.Equal(["Reco:Gateway:ReadYourWritesStartWaitMs is -1; it must be between 0 and 60000."], new GatewayOptionsValidator().Validate(null, options).Failures);
    }

    [Fact]
    public void An_unknown_storage_provider_stops_start_up_with_a_message_naming_the_setting()
    {
        var error = Assert.Throws<OptionsValidationException>(() => ClusterHosts.BuildSilo([], new Dictionary<string, string?>
        {
            ["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Reco:Storage:Provider"] = "Mongo",
            ["urls"] = "http://127.0.0.1:0",
        }));

        Assert.Equal(["Reco:Storage:Provider 'Mongo' is not supported; use 'Sqlite' or 'Postgres'."], error.Failures);
    }

    [Fact]
    public void Sequential_steps_beyond_the_window_are_refused_with_both_settings_named()
    {
        var error = Assert.Throws<OptionsValidationException>(() => ClusterHosts.BuildSilo([], new Dictionary<string, string?>
        {
            ["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Reco:Grains:User:WindowSize"] = "3",
            ["Reco:Grains:User:SequentialSteps"] = "4",
            ["urls"] = "http://127.0.0.1:0",
        }));

        Assert.Equal(["Reco:Grains:User:SequentialSteps is 4; it must be between 0 (off) and the window size (3)."], error.Failures);
    }

    [Fact]
    public void Every_bad_setting_is_reported_at_once()
    {
        var error = Assert.Throws<OptionsValidationException>(() => ClusterHosts.BuildSilo([], new Dictionary<string, string?>
        {
            ["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Reco:Kafka:TopicPrefix"] = "bad prefix!",
            ["Reco:Storage:Provider"] = "Mongo",
            ["Reco:Ingress:MaxBatchRecords"] = "0",
            ["Reco:Items:WriteIntervalMs"] = "-1",
            ["Reco:Grains:User:WindowSize"] = "0",
        }));

        Assert.Equal(5, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.StartsWith("Reco:Items:WriteIntervalMs is -1", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("Reco:Kafka:TopicPrefix 'bad prefix!'", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("Reco:Ingress:MaxBatchRecords is 0", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("Reco:Grains:User:WindowSize", StringComparison.Ordinal));

        var gatewayConfig = TestKeys.Config();
        gatewayConfig["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1";
        gatewayConfig["Reco:Gateway:MaxEventsPerRequest"] = "0";
        var gateway = Assert.Throws<OptionsValidationException>(() => ClusterHosts.BuildGateway([], gatewayConfig));
        Assert.Equal(["Reco:Gateway:MaxEventsPerRequest is 0; it must be between 1 and 100000."], gateway.Failures);
    }

    [Fact]
    public async Task The_reco_process_exits_non_zero_with_a_clear_message_on_a_bad_setting()
    {
        var result = await RunRecoAsync("silo", "--storage", "Mongo", "--bootstrap", "127.0.0.1:1", "--urls", "http://127.0.0.1:0");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("reco: invalid configuration:\n  Reco:Storage:Provider 'Mongo' is not supported; use 'Sqlite' or 'Postgres'.", result.StdErr.Trim());
        Assert.Empty(result.StdOut);
    }

    [Fact]
    public async Task A_silo_told_to_use_embedded_kafka_explains_that_it_only_exists_in_dev()
    {
        var result = await RunRecoAsync("silo", "--bootstrap", "embedded", "--urls", "http://127.0.0.1:0", "--connection-string", $"Data Source={Path.GetTempFileName()}");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("./reco dev", result.StdErr, StringComparison.Ordinal);
    }

    internal static Task<(int ExitCode, string StdOut, string StdErr)> RunRecoAsync(params string[] args) =>
        ChildProcess.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "reco.dll"), .. args]);
}
