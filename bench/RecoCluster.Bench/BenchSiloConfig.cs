using System.Globalization;
using System.Net;
using System.Net.Sockets;
using RecoCluster.Cluster;

namespace RecoCluster.Bench;

/// <summary>The configuration every bench cluster's processes share: this run's embedded Kafka and topics, the
/// storage, quiet logs (a bench measures, it does not trace), an ephemeral HTTP port, and Orleans' localhost
/// clustering on free ports, with the silo built from it as its own primary.</summary>
/// <remarks>
/// Localhost clustering keeps the membership on the primary silo. A bench never stops a silo before the end of its
/// run, so that costs nothing here, and it needs no database of its own: AdoNet clustering would put the figures
/// of a run with PostgreSQL at hand and one without on different membership paths.
/// </remarks>
public static class BenchSiloConfig
{
    public static Dictionary<string, string?> For(string bootstrapServers, TopicNames topics, string provider, string connectionString)
    {
        var ports = FreePorts(2);
        var config = new Dictionary<string, string?>
        {
            ["Reco:Kafka:BootstrapServers"] = bootstrapServers,
            ["Reco:Kafka:TopicPrefix"] = topics.Prefix,
            ["Reco:Storage:Provider"] = provider,
            ["Reco:Storage:ConnectionString"] = connectionString,
            ["Logging:LogLevel:Default"] = "Warning",
            ["urls"] = "http://127.0.0.1:0",
            ["Reco:Orleans:Clustering"] = nameof(OrleansClustering.Localhost),
        };
        // A gateway (an Orleans client) built from the same settings connects to this silo's gateway port.
        SetSiloPorts(config, ports[0], ports[1], primarySiloPort: ports[0]);
        return config;
    }

    /// <summary>Makes <paramref name="config"/> a silo listening on <paramref name="siloPort"/> (silo to silo) and
    /// <paramref name="gatewayPort"/> (clients) that joins the primary silo at <paramref name="primarySiloPort"/>.</summary>
    public static void SetSiloPorts(Dictionary<string, string?> config, int siloPort, int gatewayPort, int primarySiloPort)
    {
        ArgumentNullException.ThrowIfNull(config);
        config["Reco:Orleans:SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        config["Reco:Orleans:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture);
        config["Reco:Orleans:PrimarySiloPort"] = primarySiloPort.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary><paramref name="count"/> distinct TCP ports free on the loopback interface right now: all are held
    /// open together while they are picked, so no two are the same.</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
