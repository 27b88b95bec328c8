using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace RecoCluster.Cluster;

/// <summary>
/// Makes every process load the librdkafka that ships in the librdkafka.redist package, whatever the machine has
/// installed. Call <see cref="Use"/> before the first Kafka client is built; every Kafka entry point of the
/// project (<see cref="KafkaClientSettings"/>, <see cref="EmbeddedKafka"/>, the host's Main) does.
/// </summary>
/// <remarks>
/// Why by hand: on linux-x64 the package's default <c>librdkafka.so</c> links <c>libsasl2.so.3</c>, which Debian 12
/// lacks, so it fails to load and Confluent.Kafka's probing goes on to whatever <c>librdkafka</c> the system linker
/// finds. On a machine with Debian's librdkafka-dev that is 2.0.2, whose cooperative-sticky assignor aborts the
/// process (librdkafka#4312). The package's <c>centos8-librdkafka.so</c> is the same 2.16 build, statically linked,
/// and loads everywhere. <c>Library.Load(path)</c> cannot be used instead: it fails here looking for <c>libdl</c>.
/// A DllImport resolver on Confluent.Kafka's assembly (and on ours, for the mock cluster's entry points) pins the
/// name to that one file. Other platforms keep Confluent.Kafka's own probing.
/// </remarks>
public static class KafkaNativeLibrary
{
    /// <summary>The file the resolver loads on linux-x64, inside the package's native folder.</summary>
    public const string BundledLinuxX64 = "centos8-librdkafka.so";

    /// <summary>The version of librdkafka this project is built and tested against.</summary>
    public const string ExpectedVersion = "2.16.0";

    private static readonly Lock Gate = new();
    private static bool _installed;
    private static string? _path;

    /// <summary>The absolute path the resolver loads, or null where Confluent.Kafka probes by itself.</summary>
    public static string? LoadedPath
    {
        get
        {
            Use();
            return _path;
        }
    }

    /// <summary>What a process logs at start: the version librdkafka reports and the file it came from.</summary>
    public static string Describe()
    {
        Use();
        return $"librdkafka {Library.VersionString} ({_path ?? "found by Confluent.Kafka's own probing"})";
    }

    /// <summary>Installs the resolver once per process; later calls return at once.</summary>
    public static void Use()
    {
        lock (Gate)
        {
            if (_installed)
            {
                return;
            }

            _installed = true;
            if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            {
                return;
            }

            _path = FindBundled();
            NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, Resolve);
            NativeLibrary.SetDllImportResolver(typeof(KafkaNativeLibrary).Assembly, Resolve);
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        // Confluent.Kafka asks for "librdkafka" first, then its platform-specific names; all mean this file.
        if (_path is null || !libraryName.Contains("librdkafka", StringComparison.Ordinal))
        {
            return IntPtr.Zero;
        }

        return NativeLibrary.Load(_path);
    }

    // A plain build copies the package's natives to runtimes/linux-x64/native/ under the output; a RID-specific
    // publish (the container image) flattens them into the output folder itself.
    private static string FindBundled()
    {
        var baseDirectory = AppContext.BaseDirectory;
        string[] candidates =
        [
            Path.Combine(baseDirectory, "runtimes", "linux-x64", "native", BundledLinuxX64),
            Path.Combine(baseDirectory, BundledLinuxX64),
        ];
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"The bundled librdkafka ({BundledLinuxX64} from the librdkafka.redist package) is not under {baseDirectory}: " +
            $"looked for {string.Join(" and ", candidates)}. Rebuild, or publish without trimming native assets.");
    }
}
