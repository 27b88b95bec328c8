using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;

namespace RecoCluster.Host;

/// <summary>The processes a cluster is made of. <c>./reco MODE [flags]</c> runs <c>reco MODE [flags]</c>.</summary>
public static class Commands
{
    private const string Usage = """
        usage: reco <mode> [flags]

        modes:
          dev       one process: embedded Kafka, a silo (SQLite) and the gateway on http://127.0.0.1:8080,
                    open without API keys to this machine only
          kafka     the embedded Kafka alone; prints its bootstrap address as the first line of stdout
          silo      an Orleans silo: joins the cluster (Reco:Orleans), runs the grains and reads the events
                    partitions; serves /healthz, /readyz and /metrics over HTTP
          gateway   the public HTTP API, an Orleans client of the silos
          dev-cert DIR
                    writes a throwaway self-signed certificate (tls.crt, tls.key) for localhost into DIR, to try
                    HTTPS and Orleans' TLS on one machine (docs/deployment.md, "Encryption in transit")

        the gateway needs API keys (Reco:Gateway:Auth:ReadKeys/IngestKeys/AdminKeys or
        Reco:Gateway:Auth:KeysDirectory). See README.md.

        flags (each is also a configuration key, settable as Reco__Section__Key in the environment):
          --bootstrap HOST:PORT       Reco:Kafka:BootstrapServers ('embedded' only in dev)
          --topic-prefix P            Reco:Kafka:TopicPrefix (default reco)
          --partitions N              Reco:Kafka:Partitions, when creating topics (default 8)
          --storage Sqlite|Postgres   Reco:Storage:Provider
          --connection-string CS      Reco:Storage:ConnectionString
          --clustering Localhost|AdoNet  Reco:Orleans:Clustering (AdoNet: the membership table in PostgreSQL)
          --cluster-id ID             Reco:Orleans:ClusterId (default reco)
          --silo-port N               Reco:Orleans:SiloPort, silo to silo (default 11111)
          --gateway-port N            Reco:Orleans:GatewayPort, client to silo (default 30000); on a gateway
                                      with Localhost clustering, the port of the silo it connects to
          --primary-silo-port N       Reco:Orleans:PrimarySiloPort, Localhost only (default 11111)
          --advertised-address IP     Reco:Orleans:AdvertisedAddress, AdoNet only (the pod IP in Kubernetes)
          --silo-id ID                Reco:Silo:Id, the silo's name
          --urls URL                  where to listen for HTTP (gateway default http://127.0.0.1:8080, silo an
                                      ephemeral port)
          --bootstrap-file F          kafka: also write the bootstrap address to F
          --brokers N                 kafka: number of mock brokers (default 1)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var rest = args[1..];
        try
        {
            return args[0] switch
            {
                "kafka" => await RunKafkaAsync(rest),
                "silo" => await RunAppAsync(ClusterHosts.BuildSilo(rest)),
                "gateway" => await RunAppAsync(ClusterHosts.BuildGateway(rest)),
                "dev" => await RunDevAsync(rest),
                "dev-cert" => WriteDevCertificate(rest),
                _ => Fail($"unknown mode '{args[0]}'\n\n{Usage}"),
            };
        }
        catch (OptionsValidationException ex)
        {
            return Fail("invalid configuration:\n  " + string.Join("\n  ", ex.Failures));
        }
        catch (Exception ex) when (ex is InvalidOperationException or Confluent.Kafka.KafkaException or DllNotFoundException)
        {
            return Fail(ex.Message);
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"reco: {message}");
        return 2;
    }

    private static int WriteDevCertificate(string[] args)
    {
        if (args.Length != 1)
        {
            return Fail("usage: reco dev-cert DIR");
        }

        var written = SelfSignedCertificate.Write(args[0], "reco-dev", TimeSpan.FromDays(30));
        using (written.Certificate)
        {
            // Absolute: Kestrel reads a relative certificate path against its content root (the executable's
            // folder), not the working directory.
            Console.Out.WriteLine($"{Path.GetFullPath(written.CertificatePath)}\n{Path.GetFullPath(written.KeyPath)}");
            Console.Error.WriteLine($"reco dev-cert: self-signed for localhost, 127.0.0.1 and ::1 until {written.Certificate.NotAfter:yyyy-MM-dd}; for this machine only.");
        }

        return 0;
    }

    private static async Task<int> RunAppAsync(WebApplication app)
    {
        app.Logger.LogInformation("Kafka client: {NativeLibrary}", KafkaNativeLibrary.Describe());
        await app.RunAsync();
        return 0;
    }

    /// <summary>The embedded Kafka as a process of its own, for a multi-process cluster on one machine.</summary>
    private static async Task<int> RunKafkaAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddRecoSources(args, null)
            .Build();
        var kafka = Bind(configuration);
        var brokers = configuration.GetValue("Reco:Kafka:Brokers", 1);
        using var cluster = EmbeddedKafka.Start(brokers);
        cluster.CreateTopics(kafka.Topics, kafka.Partitions);

        // The file first, then stdout: whoever has seen the line can rely on the file. Write-then-rename, so a
        // reader polling for the file never sees it half written.
        if (configuration["Reco:Kafka:BootstrapFile"] is { Length: > 0 } file)
        {
            var temp = file + ".tmp";
            await File.WriteAllTextAsync(temp, cluster.BootstrapServers + "\n");
            File.Move(temp, file, overwrite: true);
        }

        // The address is the first line of stdout, so scripts can read it with `head -1`.
        Console.Out.WriteLine(cluster.BootstrapServers);
        Console.Out.Flush();

        Console.Error.WriteLine($"reco kafka: {brokers} broker(s) at {cluster.BootstrapServers}; topics {string.Join(", ", kafka.Topics.All(kafka.Partitions).Select(t => $"{t.Topic}({t.Partitions})"))}. Ctrl-C or SIGTERM stops it (all data is in memory). {KafkaNativeLibrary.Describe()}.");
        await WaitForSignalAsync();
        return 0;
    }

    /// <summary>One process with everything: embedded Kafka, one silo on SQLite, the gateway.</summary>
    private static async Task<int> RunDevAsync(string[] args)
    {
        var probe = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddRecoSources(args, null)
            .Build();
        var kafka = Bind(probe);
        // Dev mode is open to this machine only: no keys needed from loopback, and the gateway refuses to start
        // if told to listen anywhere else.
        var overrides = new Dictionary<string, string?>
        {
            ["Reco:Gateway:Auth:AllowAnonymousOnLoopback"] = "true",
        };

        EmbeddedKafka? embedded = null;
        if (kafka.IsEmbedded)
        {
            embedded = EmbeddedKafka.Start();
            embedded.CreateTopics(kafka.Topics, kafka.Partitions);
            overrides["Reco:Kafka:BootstrapServers"] = embedded.BootstrapServers;

            // The embedded Kafka starts empty every time, so checkpoints from an earlier run would point past
            // the end of the new log. Dev state therefore lives exactly as long as the process.
            if (probe["Reco:Storage:ConnectionString"] is null or "Data Source=.reco/reco.db")
            {
                Directory.CreateDirectory(".reco");
                foreach (var stale in Directory.GetFiles(".reco", "dev.db*"))
                {
                    File.Delete(stale);
                }

                overrides["Reco:Storage:ConnectionString"] = "Data Source=.reco/dev.db";
            }
        }

        try
        {
            var siloOverrides = new Dictionary<string, string?>(overrides) { ["urls"] = "http://127.0.0.1:0" };
            // Kestrel's endpoint settings (HTTPS for the gateway) are the gateway's, but the dev silo reads the same
            // configuration: its copies of them listen on ephemeral loopback ports instead of the gateway's.
            foreach (var endpoint in probe.GetSection("Kestrel:Endpoints").GetChildren())
            {
                var https = endpoint["Url"]?.StartsWith("https:", StringComparison.OrdinalIgnoreCase) == true;
                siloOverrides[$"Kestrel:Endpoints:{endpoint.Key}:Url"] = https ? "https://127.0.0.1:0" : "http://127.0.0.1:0";
            }

            await using var silo = ClusterHosts.BuildSilo(args, siloOverrides);
            await using var gateway = ClusterHosts.BuildGateway(args, overrides);
            silo.Logger.LogInformation("Kafka client: {NativeLibrary}", KafkaNativeLibrary.Describe());
            await silo.StartAsync();
            await gateway.StartAsync();
            var urls = string.Join(", ", gateway.Urls);
            Console.Out.WriteLine($"RecoCluster dev is up: gateway on {urls}; Kafka {(embedded is null ? kafka.BootstrapServers : $"embedded at {embedded.BootstrapServers}")}; storage {silo.Services.GetRequiredService<IOptions<Silo.Storage.StorageOptions>>().Value.Provider}; Orleans dashboard on {silo.Urls.First()}{ClusterHosts.DashboardPath}/. Ctrl-C stops it.");
            Console.Out.Flush();
            await Task.WhenAny(silo.WaitForShutdownAsync(), gateway.WaitForShutdownAsync());
            await gateway.StopAsync();
            await silo.StopAsync();
            return 0;
        }
        finally
        {
            embedded?.Dispose();
        }
    }

    private static KafkaOptions Bind(IConfiguration configuration)
    {
        var kafka = new KafkaOptions();
        configuration.GetSection(KafkaOptions.Section).Bind(kafka);
        var result = new KafkaOptionsValidator().Validate(null, kafka);
        if (result.Failed)
        {
            throw new OptionsValidationException(KafkaOptions.Section, typeof(KafkaOptions), result.Failures);
        }

        return kafka;
    }

    private static Task WaitForSignalAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(PosixSignalContext context)
        {
            context.Cancel = true;
            done.TrySetResult();
        }

        // Kept alive by the closure until the process ends.
        var registrations = new[]
        {
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handler),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handler),
        };
        return done.Task.ContinueWith(_ => GC.KeepAlive(registrations), TaskScheduler.Default);
    }
}
