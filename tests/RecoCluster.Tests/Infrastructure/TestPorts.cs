using System.Net;
using System.Net.Sockets;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>Free TCP ports on loopback, for processes that must be told their port (Orleans' silo and gateway
/// ports cannot be ephemeral: other silos and clients are given them).</summary>
public static class TestPorts
{
    /// <summary><paramref name="count"/> distinct ports that were free a moment ago. All are held until all are
    /// found, so the same port is never handed out twice in one call.</summary>
    public static int[] Free(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
