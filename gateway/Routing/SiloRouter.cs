using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;

namespace RecoCluster.Gateway.Routing;

/// <summary>A silo's answer, passed through to the client as is.</summary>
public sealed record SiloResponse(int StatusCode, byte[] Body, string ContentType);

/// <summary>
/// Sends a query to the silo that owns a key's partition, found in the <see cref="ClusterDirectory"/>. While
/// partitions move, the directory may be a moment behind: a silo that has let go answers 421 (not owner) and the
/// router tries the other claimants, then re-reads the directory, until its deadline. Connection failures (a
/// killed silo whose entry has not expired yet) are treated the same way, and a silo that keeps failing is skipped
/// for a while by its <see cref="SiloCircuitBreaker"/>.
/// </summary>
public sealed class SiloRouter(HttpClient http, ClusterDirectory directory, SiloCircuitBreaker breaker, IOptions<GatewayOptions> options, TimeProvider time, ILogger<SiloRouter> logger)
{
    private readonly GatewayOptions _options = options.Value;

    private int _next;

    /// <summary>GETs <paramref name="path"/> from the owner of <paramref name="key"/> in <paramref name="role"/>;
    /// null when no owner answered before the deadline.</summary>
    public Task<SiloResponse?> GetFromOwnerAsync(string key, GrainRole role, string path, CancellationToken ct) =>
        SendAsync(
            () =>
            {
                var count = directory.PartitionCount();
                return count > 0 ? directory.OwnersOf(KafkaPartitioner.PartitionFor(key, count), role) : [];
            },
            HttpMethod.Get,
            path,
            null,
            null,
            ct);

    /// <summary>Sends to any live silo (each holds the replicated snapshot and catalog), starting with a different
    /// one each time so the load spreads; null when none answered before the deadline.</summary>
    public Task<SiloResponse?> SendToAnyAsync(HttpMethod method, string path, byte[]? body, CancellationToken ct) =>
        SendAsync(
            () =>
            {
                var live = directory.Live();
                if (live.Count == 0)
                {
                    return live;
                }

                var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)live.Count);
                return [.. live.Skip(start), .. live.Take(start)];
            },
            method,
            path,
            body,
            null,
            ct);

    /// <summary>Sends to the silo that hosts the batch grain, with a longer attempt timeout (a round takes a while).</summary>
    /// <remarks>While the host fails over (its control partition moves after the session timeout) no silo hosts
    /// the grain for several seconds, so the search for one may take the whole <paramref name="timeout"/>; with no
    /// live silo at all, there is nothing to wait for, and the usual route deadline applies.</remarks>
    public Task<SiloResponse?> SendToBatchHostAsync(HttpMethod method, string path, TimeSpan timeout, CancellationToken ct) =>
        SendAsync(
            () => [.. directory.Live().Where(e => e.HostsBatchGrain)],
            method,
            path,
            null,
            timeout,
            ct,
            searchDeadline: directory.Live().Count > 0 ? timeout : null);

    private async Task<SiloResponse?> SendAsync(Func<IReadOnlyList<SiloDirectoryEntry>> candidates, HttpMethod method, string path, byte[]? body, TimeSpan? timeout, CancellationToken ct, TimeSpan? searchDeadline = null)
    {
        var started = time.GetTimestamp();
        // The deadline bounds the search for a silo that answers; a long operation (a rebuild) gets its own
        // attempt timeout once a silo has taken it.
        var deadline = searchDeadline ?? TimeSpan.FromMilliseconds(_options.RouteDeadlineMs);
        for (var round = 0; ; round++)
        {
            foreach (var silo in candidates())
            {
                if (!breaker.AllowsRequest(silo.Endpoint))
                {
                    continue;
                }

                var remaining = deadline - time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    return null;
                }

                var answer = await TryOnceAsync(silo, method, path, body, timeout ?? Min(remaining, TimeSpan.FromMilliseconds(_options.SiloAttemptTimeoutMs)), ct);
                if (answer is not null)
                {
                    return answer;
                }
            }

            var pause = TimeSpan.FromMilliseconds(Math.Min(400, 25 << Math.Min(round, 4)));
            if (time.GetElapsedTime(started) + pause >= deadline)
            {
                return null;
            }

            await Task.Delay(pause, time, ct);
        }
    }

    private async Task<SiloResponse?> TryOnceAsync(SiloDirectoryEntry owner, HttpMethod method, string path, byte[]? body, TimeSpan timeout, CancellationToken ct)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(owner.Endpoint + path));
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            }

            using var response = await http.SendAsync(request, attempt.Token);
            breaker.OnSuccess(owner.Endpoint);
            if (response.StatusCode == HttpStatusCode.MisdirectedRequest)
            {
                return null; // not (or no longer) the owner
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                // Our cluster secret is not the silo's: a deployment mistake, never the client's to see as a 401.
                logger.LogError("Silo {Silo} at {Endpoint} refused the cluster secret; check that Reco:Cluster:Secret is the same on every silo and gateway", owner.SiloId, owner.Endpoint);
                return null;
            }

            var responseBody = await response.Content.ReadAsByteArrayAsync(attempt.Token);
            var contentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            return new SiloResponse((int)response.StatusCode, responseBody, contentType);
        }
        // A silo killed while the connection is being set up can surface as a bare SocketException (reading
        // RemoteEndPoint of a socket the peer already reset) rather than wrapped in HttpRequestException.
        catch (Exception ex) when (ex is HttpRequestException or System.Net.Sockets.SocketException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            logger.LogDebug(ex, "Silo {Silo} at {Endpoint} did not answer", owner.SiloId, owner.Endpoint);
            breaker.OnFailure(owner.Endpoint);
            return null;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
