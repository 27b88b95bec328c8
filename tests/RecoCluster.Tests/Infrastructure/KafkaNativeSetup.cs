using System.Runtime.CompilerServices;
using RecoCluster.Cluster;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>Tests build Kafka clients of their own; like every process of the project they must load the bundled
/// librdkafka, never the machine's, so the resolver goes in before any test runs.</summary>
internal static class KafkaNativeSetup
{
#pragma warning disable CA2255 // a test assembly is an application's entry point in all but name
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install() => KafkaNativeLibrary.Use();
}
