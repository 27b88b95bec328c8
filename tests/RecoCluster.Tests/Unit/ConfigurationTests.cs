using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Gateway;
using RecoCluster.Grains;
using RecoCluster.Host;
using RecoCluster.Silo;
using RecoCluster.Silo.Storage;

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
        var silo = config.GetSection(SiloOptions.Section).Get<SiloOptions>()!;
        var gateway = config.GetSection(GatewayOptions.Section).Get<GatewayOptions>()!;
        var user = config.GetSection("Reco:Grains:User").Get<UserGrainOptions>()!;
        var directory = config.GetSection(DirectoryOptions.Section).Get<DirectoryOptions>()!;

        Assert.True(new KafkaOptionsValidator().Validate(null, kafka).Succeeded);
        Assert.True(new StorageOptionsValidator().Validate(null, storage).Succeeded);
        Assert.True(new SiloOptionsValidator().Validate(null, silo).Succeeded);
        Assert.True(new GatewayOptionsValidator().Validate(null, gateway).Succeeded);

        // The file documents the defaults; it must not drift from them.
        Assert.Equivalent(new KafkaOptions(), kafka);
        Assert.Equivalent(new StorageOptions(), storage);
        Assert.Equivalent(new SiloOptions(), silo);
        Assert.Equivalent(new GatewayOptions(), gateway);
        Assert.Equivalent(new UserGrainOptions(), user);
        Assert.Equivalent(new DirectoryOptions(), directory);
    }

    [Fact]
    public async Task An_unknown_storage_provider_stops_start_up_with_a_message_naming_the_setting()
    {
        await using var silo = ClusterHosts.BuildSilo([], new Dictionary<string, string?>
        {
            ["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Reco:Storage:Provider"] = "Mongo",
            ["urls"] = "http://127.0.0.1:0",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => silo.StartAsync());
        Assert.Contains("Reco:Storage:Provider 'Mongo' is not supported; use 'Sqlite' or 'Postgres'.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_bad_settings_are_reported_together()
    {
        await using var gateway = ClusterHosts.BuildGateway([], new Dictionary<string, string?>
        {
            ["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Reco:Kafka:TopicPrefix"] = "bad prefix!",
            ["Reco:Gateway:MaxEventsPerRequest"] = "0",
            ["urls"] = "http://127.0.0.1:0",
        });

        var error = await Assert.ThrowsAnyAsync<Exception>(() => gateway.StartAsync());
        var text = error is AggregateException agg ? string.Join("\n", agg.InnerExceptions.Select(e => e.Message)) : error.Message;
        Assert.Contains("Reco:Kafka:TopicPrefix 'bad prefix!'", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_reco_process_exits_non_zero_with_a_clear_message_on_a_bad_setting()
    {
        var result = await RunRecoAsync("silo", "--storage", "Mongo", "--bootstrap", "127.0.0.1:1", "--urls", "http://127.0.0.1:0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Reco:Storage:Provider 'Mongo' is not supported", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_told_to_use_embedded_kafka_explains_that_it_only_exists_in_dev()
    {
        var result = await RunRecoAsync("silo", "--bootstrap", "embedded", "--urls", "http://127.0.0.1:0", "--connection-string", $"Data Source={Path.GetTempFileName()}");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("./reco dev", result.StdErr, StringComparison.Ordinal);
    }

    internal static async Task<(int ExitCode, string StdOut, string StdErr)> RunRecoAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "reco.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
