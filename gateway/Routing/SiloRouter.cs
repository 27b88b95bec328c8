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

    /// <summary>GETs <paramref name="path"/> from the owner of <paramref name="key"/> in <paramref name="role"/>;
    /// null when no owner answered before the deadline.</summary>
    public async Task<SiloResponse?> GetFromOwnerAsync(string key, GrainRole role, string path, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var deadline = TimeSpan.FromMilliseconds(_options.RouteDeadlineMs);
        for (var round = 0; ; round++)
        {
            var count = directory.PartitionCount();
            if (count > 0)
            {
                var partition = KafkaPartitioner.PartitionFor(key, count);
                foreach (var owner in directory.OwnersOf(partition, role))
                {
                    if (!breaker.AllowsRequest(owner.Endpoint))
                    {
                        continue;
                    }

                    var remaining = deadline - time.GetElapsedTime(started);
                    if (remaining <= TimeSpan.Zero)
                    {
                        return null;
                    }

                    var answer = await TryOnceAsync(owner, path, Min(remaining, TimeSpan.FromMilliseconds(_options.SiloAttemptTimeoutMs)), ct);
                    if (answer is not null)
                    {
                        return answer;
                    }
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

    private async Task<SiloResponse?> TryOnceAsync(SiloDirectoryEntry owner, string path, TimeSpan timeout, CancellationToken ct)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(timeout);
        try
        {
            using var response = await http.GetAsync(new Uri(owner.Endpoint + path), attempt.Token);
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

            var body = await response.Content.ReadAsByteArrayAsync(attempt.Token);
            var contentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            return new SiloResponse((int)response.StatusCode, body, contentType);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            logger.LogDebug(ex, "Silo {Silo} at {Endpoint} did not answer", owner.SiloId, owner.Endpoint);
            breaker.OnFailure(owner.Endpoint);
            return null;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
