using Confluent.Kafka;
using RecoCluster.Cluster;
using RecoCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RecoCluster.Tests.Integration;

/// <summary>
/// Every process loads the librdkafka bundled in the librdkafka.redist package (2.16, statically linked), never
/// the machine's: a Debian librdkafka-dev (2.0.2) aborts consumer groups (librdkafka#4312). The checks read the
/// processes' memory maps, so they tell the bundled file from any other librdkafka the linker could have found.
/// </summary>
[Collection("cluster")]
public sealed class KafkaNativeLibraryTests(ITestOutputHelper output)
{
    [Fact]
    public void The_test_host_runs_the_bundled_librdkafka_2_16()
    {
        output.WriteLine($"system librdkafka: {SystemLibrdkafka()}");
        Assert.Equal(KafkaNativeLibrary.ExpectedVersion, Library.VersionString);

        var mapped = MappedLibrdkafka(Environment.ProcessId);
        Assert.Equal([KafkaNativeLibrary.LoadedPath!], mapped);
        Assert.EndsWith(KafkaNativeLibrary.BundledLinuxX64, mapped[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_bundled_librdkafka_takes_sasl_ssl_with_scram_from_the_client_settings()
    {
        var dir = Directory.CreateTempSubdirectory("reco-kafka-tls-").FullName;
        try
        {
            var ca = Host.SelfSignedCertificate.Write(dir, "reco-kafka-ca", TimeSpan.FromHours(1));
            KafkaOptions Options(string mechanism) => new()
            {
                BootstrapServers = "127.0.0.1:9093",
                Client = new Dictionary<string, string>
                {
                    ["security.protocol"] = "SASL_SSL",
                    ["sasl.mechanisms"] = mechanism,
                    ["sasl.username"] = "reco",
                    ["sasl.password"] = "secret",
                    ["ssl.ca.location"] = ca.CertificatePath,
                },
            };

            // librdkafka checks these when a client is built: a build without TLS or SASL would refuse them here.
            using (new ProducerBuilder<string, byte[]>(KafkaClientSettings.ReliableProducer(Options("SCRAM-SHA-512"), "tls-test")).Build())
            using (new ConsumerBuilder<string, byte[]>(KafkaClientSettings.Consumer(Options("SCRAM-SHA-256"), "tls-test", "tls-test")).Build())
            {
            }

            var refused = Assert.Throws<InvalidOperationException>(() => new ProducerBuilder<string, byte[]>(KafkaClientSettings.ReliableProducer(Options("NO-SUCH-MECHANISM"), "tls-test")).Build());
            Assert.Contains("NO-SUCH-MECHANISM", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Kafka_silo_and_gateway_processes_run_the_bundled_librdkafka_2_16()
    {
        output.WriteLine($"system librdkafka: {SystemLibrdkafka()}");
        await using var cluster = await ProcessCluster.StartAsync(TestDatabases.NewSqlite(), silos: 1);
        try
        {
            Assert.Equal(3, cluster.Processes.Count);
            foreach (var process in cluster.Processes)
            {
                var mapped = MappedLibrdkafka(process.Process.Id);
                Assert.Single(mapped);
                Assert.EndsWith(Path.Combine("runtimes", "linux-x64", "native", KafkaNativeLibrary.BundledLinuxX64), mapped[0], StringComparison.Ordinal);
                await Eventually.TrueAsync(
                    () => Task.FromResult(process.Log().Contains($"librdkafka {KafkaNativeLibrary.ExpectedVersion} (", StringComparison.Ordinal)),
                    TimeSpan.FromSeconds(30),
                    $"{process.Name} logging librdkafka {KafkaNativeLibrary.ExpectedVersion}");
            }
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    // Every distinct file named like librdkafka that the process has mapped (code or data).
    private static List<string> MappedLibrdkafka(int pid) =>
    [
        .. File.ReadLines($"/proc/{pid}/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[5].Contains("librdkafka", StringComparison.Ordinal))
            .Select(fields => fields[5])
            .Distinct(),
    ];

    // What a linker would find without the resolver: reported, so a run says which case it covered.
    private static string SystemLibrdkafka()
    {
        var found = new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib", "/usr/local/lib" }
            .Where(Directory.Exists)
            .SelectMany(d => Directory.GetFiles(d, "librdkafka.so*"))
            .ToList();
        return found.Count == 0 ? "none installed" : string.Join(", ", found);
    }
}
