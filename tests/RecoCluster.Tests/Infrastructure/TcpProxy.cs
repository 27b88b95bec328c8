using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>
/// A loopback TCP forwarder with an off switch, to give a real client a real outage: while down, open
/// connections are reset and new ones are closed as soon as they are accepted. It can also lose one PostgreSQL
/// commit's answer (<see cref="LoseAnswerToNextCommitAfter"/>): the database commits, the client never hears so.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private volatile bool _down;
    private LostAnswer? _lostAnswer;

    public TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void SetDown()
    {
        _down = true;
        lock (_gate)
        {
            foreach (var client in _open)
            {
                Reset(client);
            }

            _open.Clear();
        }
    }

    public void SetUp() => _down = false;

    /// <summary>
    /// Arms a one-time fault: on the next connection whose client sends <paramref name="marker"/> (part of a
    /// statement's text, which Npgsql sends with each unprepared statement) and then a <c>COMMIT</c> (Npgsql
    /// commits with a simple query of that text), the <c>COMMIT</c> reaches the server, and the server's answer is
    /// dropped and both ends of the connection reset: the database has committed and the client sees a broken
    /// connection. The task completes when that has happened.
    /// </summary>
    public Task LoseAnswerToNextCommitAfter(string marker)
    {
        var fault = new LostAnswer(Encoding.UTF8.GetBytes(marker));
        if (Interlocked.CompareExchange(ref _lostAnswer, fault, null) is not null)
        {
            throw new InvalidOperationException("A lost answer is already armed.");
        }

        return fault.Done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        SetDown();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException or OperationCanceledException)
            {
                return;
            }

            if (_down)
            {
                inbound.Close();
                continue;
            }

            _ = PipeAsync(inbound);
        }
    }

    private async Task PipeAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        try
        {
            await outbound.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            lock (_gate)
            {
                _open.Add(inbound);
                _open.Add(outbound);
            }

            var connection = new ConnectionFault();
            var a = ForwardRequestsAsync(inbound.GetStream(), outbound.GetStream(), connection);
            var b = ForwardAnswersAsync(outbound.GetStream(), inbound.GetStream(), connection, inbound, outbound);
            await Task.WhenAny(a, b);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            inbound.Close();
            outbound.Close();
            lock (_gate)
            {
                _open.Remove(inbound);
                _open.Remove(outbound);
            }
        }
    }

    // Client to server. Watches for the armed marker and then a COMMIT only while a fault is armed; a marker or a
    // COMMIT split across two reads is found through the tail of the previous read kept in front of the next.
    private async Task ForwardRequestsAsync(NetworkStream from, NetworkStream to, ConnectionFault connection)
    {
        var buffer = new byte[64 * 1024];
        var window = new List<byte>();
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            if (Volatile.Read(ref _lostAnswer) is { } fault && !fault.Done.Task.IsCompleted)
            {
                window.AddRange(buffer.AsSpan(0, read));
                var seen = CollectionsMarshal.AsSpan(window);
                var markerAt = seen.IndexOf(fault.Marker);
                if (markerAt >= 0)
                {
                    connection.SawMarker = true;
                    seen = seen[(markerAt + fault.Marker.Length)..];
                }

                if (connection.SawMarker && seen.IndexOf(CommitQuery) >= 0 && Interlocked.CompareExchange(ref _lostAnswer, null, fault) == fault)
                {
                    connection.LoseAnswer = fault; // before the COMMIT is forwarded, so its answer cannot slip past
                }

                if (window.Count > KeptTail)
                {
                    window.RemoveRange(0, window.Count - KeptTail);
                }
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    // Server to client, dropping the answer to a COMMIT that is to be lost and resetting both ends.
    private async Task ForwardAnswersAsync(NetworkStream from, NetworkStream to, ConnectionFault connection, TcpClient inbound, TcpClient outbound)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            if (connection.LoseAnswer is { } fault)
            {
                Reset(inbound);
                Reset(outbound);

                fault.Done.TrySetResult();
                return;
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    // Closes a connection with a reset, like a vanished host.
    private static void Reset(TcpClient client)
    {
        // A connection the other side already closed has no socket any more (Client is null) or a disposed one:
        // there is nothing left to reset.
        try
        {
            if (client.Client is { } socket)
            {
                socket.LingerState = new LingerOption(true, 0);
            }
        }
        catch (ObjectDisposedException)
        {
        }

        client.Close();
    }

    // The text of Npgsql's commit, as its simple query message carries it (null-terminated).
    private static readonly byte[] CommitQuery = "COMMIT\0"u8.ToArray();

    // Enough of a read kept for the marker or the COMMIT to be found across two reads (markers are short).
    private const int KeptTail = 256;

    private sealed class LostAnswer(byte[] marker)
    {
        public byte[] Marker { get; } = marker;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class ConnectionFault
    {
        public volatile bool SawMarker;
        public volatile LostAnswer? LoseAnswer;
    }
}
