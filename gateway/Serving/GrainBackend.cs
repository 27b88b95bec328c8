using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecoCluster.Cluster;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Serving;

/// <summary>
/// The gateway as an Orleans client: each read is a grain call (the ingress of the user's partition for a history,
/// the stateless recommender on the silo the client is connected to for recommendations, the item's router, which
/// forwards to its shard, for its counts). Orleans finds the activation; a silo that dies or a grain that moves is
/// Orleans' business, and a call that does not complete in <c>Reco:Gateway:RouteDeadlineMs</c> answers 503 with
/// Retry-After.
/// </summary>
public sealed partial class GrainBackend(
    IGrainFactory grains,
    IOptions<KafkaOptions> kafka,
    IOptions<GatewayOptions> options,
    ProducedPositions produced,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<GrainBackend> logger) : IClusterBackend
{
    private const string NotConnectedYet = "the gateway has not reached a silo yet";

    private int _partitions;

    // Until the Orleans client has reached a silo it knows no grain type, and a call fails with an ArgumentException,
    // not an Orleans one. The host's start completes only once the client is connected (Kestrel starts beside it:
    // ClusterHosts.BuildGateway), so ApplicationStarted says whether grains can be called yet.
    private bool Connected => lifetime.ApplicationStarted.IsCancellationRequested;

    public Task<IResult> UserAsync(string userId, PositionToken? position, HttpContext context, CancellationToken ct) =>
        CallAsync(context, ct, "user", async () =>
        {
            // Straight to the ingress of the user's partition (the gateway produces the user's events there), not
            // through IUserGrain: a router keyed by user id is an activation per user on the silo that serves it.
            var partition = KafkaPartitioner.PartitionFor(userId, await PartitionCountAsync());
            var (history, behind) = await grains.GetGrain<IPartitionIngressGrain>(partition).GetUserHistoryAsync(userId, ReadAt(partition, position));
            MarkBehind(context, behind);
            return history is null
                ? NotFound(behind ? $"user '{userId}' has no history yet: the cluster has not applied every event of the position" : $"user '{userId}' has no history", "Unknown user")
                : TypedResults.Ok(behind ? history with { Behind = true } : history);
        });

    public Task<IResult> RecommendationsAsync(string userId, int count, PositionToken? position, HttpContext context, CancellationToken ct) =>
        CallAsync(context, ct, "user", async () =>
        {
            // Nothing to wait for (no position, nothing produced here): no need to know the user's partition.
            var at = position is null && !produced.Any
                ? ReadPosition.None
                : ReadAt(KafkaPartitioner.PartitionFor(userId, await PartitionCountAsync()), position);
            var list = await Recommender.ForUserAsync(userId, count, at);
            MarkBehind(context, list.Behind == true);
            return TypedResults.Ok(list);
        });

    // Read-your-writes on the user's partition, waited for at most Reco:Gateway:ReadYourWritesWaitMs, and the
    // start wait more if the partition's ingress is starting.
    private ReadPosition ReadAt(int partition, PositionToken? position) =>
        new(Target(partition, position), TimeSpan.FromMilliseconds(options.Value.ReadYourWritesWaitMs), options.Value.StartWait);

    // The request's position when it carries one (it names what its client wrote, through whichever gateway), else
    // what this gateway produced: a request with a position does not wait for other clients' writes.
    private long Target(int partition, PositionToken? position) => position?.For(partition) ?? produced.For(partition);

    private async Task<bool> WaitCommittedAsync(PositionToken? position)
    {
        var waits = new List<Task<bool>>();
        var partitions = await PartitionCountAsync();
        for (var partition = 0; partition < partitions; partition++)
        {
            var at = Target(partition, position);
            if (at > 0)
            {
                waits.Add(grains.GetGrain<IPartitionIngressGrain>(partition).WaitCommittedAsync(at, RebuildCatchUp));
            }
        }

        return (await Task.WhenAll(waits)).All(reached => reached);
    }

    private static void MarkBehind(HttpContext context, bool behind)
    {
        if (behind)
        {
            context.Response.Headers[PositionToken.BehindHeader] = "true";
        }
    }

    public Task<IResult> SimilarAsync(string itemId, int count, HttpContext context, CancellationToken ct) =>
        CallAsync(context, ct, "item", async () =>
        {
            var list = await Recommender.SimilarAsync(itemId, count);
            return list is null ? NotFound($"item '{itemId}' is in neither the neighborhood snapshot nor the catalog", "Unknown item") : TypedResults.Ok(list);
        });

    public Task<IResult> PopularAsync(int count, HttpContext context, CancellationToken ct) =>
        CallAsync(context, ct, "snapshot", async () => TypedResults.Ok(await Recommender.PopularAsync(count)));

    public Task<IResult> CartAsync(CartRequest cart, HttpContext context, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(cart);
        return CallAsync(context, ct, "snapshot", async () => TypedResults.Ok(await Recommender.CartAsync(cart.Items!, cart.Count ?? RecommendationRequests.DefaultCount)));
    }

    public Task<IResult> CooccurrenceAsync(string itemId, int count, HttpContext context, CancellationToken ct) =>
        CallAsync(context, ct, "item", async () =>
        {
            var row = await grains.GetGrain<IItemGrain>(itemId).GetCooccurrenceAsync(count);
            return row.Count == 0 && row.RowLength == 0 && row.PurchaseCount == 0
                ? NotFound($"item '{itemId}' has no co-occurrence counts", "Unknown item")
                : TypedResults.Ok(row);
        });

    /// <summary>How long a rebuild request may wait for its round, failovers included.</summary>
    public static readonly TimeSpan RebuildTimeout = TimeSpan.FromMinutes(2);

    /// <summary>How long a rebuild request waits for the events it must count to be stored before its round starts.</summary>
    public static readonly TimeSpan RebuildCatchUp = TimeSpan.FromMinutes(1);

    // A round whose silo dies is lost with it; the round grain comes back on another silo, and running the
    // request there is what the caller asked for (a round counts everything stored before it starts), so the
    // gateway asks again until the timeout instead of handing the failover to the caller.
    public Task<IResult> RebuildAsync(PositionToken? position, HttpContext context, CancellationToken ct) =>
        CallAsync(context, ct, "neighborhood round grain", async () =>
        {
            // A round counts what the item shards have stored when it starts: first every event of the request's
            // position, or of what this gateway produced, must be committed on its partition.
            var counted = await WaitCommittedAsync(position);
            MarkBehind(context, !counted);
            var deadline = time.GetUtcNow() + RebuildTimeout;
            while (true)
            {
                try
                {
                    var result = await RebuildOnceAsync(ct);
                    return TypedResults.Ok(counted ? result : result with { Behind = true });
                }
                catch (Exception ex) when (IsUnavailable(ex) && time.GetUtcNow() < deadline && !ct.IsCancellationRequested)
                {
                    LogRebuildRetry(ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
                }
            }
        });

    // A call in flight to a silo that dies is not failed by Orleans until its response timeout (minutes for a
    // round), so the gateway watches for it: once the silo the round started on is no longer active, or the round
    // grain has a new activation elsewhere, the call is given up (it fails later, unobserved) and the caller asks
    // again.
    private async Task<RebuildResult> RebuildOnceAsync(CancellationToken ct)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var round = grains.GetGrain<INeighborhoodRoundGrain>(0);
        var host = await management.GetActivationAddress(round);
        var call = round.RebuildAsync();
        _ = call.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        while (true)
        {
            if (await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(1), time, ct)) == call)
            {
                return await call;
            }

            var now = await management.GetActivationAddress(round);
            host ??= now;
            if (host is not null && ((now is not null && !now.Equals(host)) || !(await management.GetHosts(onlyActive: true)).ContainsKey(host)))
            {
                throw new SiloUnavailableException($"silo {host}, which ran the neighborhood round, left the cluster during it");
            }
        }
    }

    public Task<IResult> ClusterAsync(HttpContext context, CancellationToken ct) =>
        CallAsync(context, ct, "cluster", async () =>
        {
            var management = grains.GetGrain<IManagementGrain>(0);
            var hosts = await management.GetDetailedHosts(onlyActive: true);
            var (published, roundSilo) = await RoundAsync(management);
            var partitions = await Task.WhenAll(Enumerable.Range(0, PartitionCount()).Select(PartitionAsync));
            var silos = await Task.WhenAll(hosts.OrderBy(h => h.SiloName, StringComparer.Ordinal).Select(async h =>
            {
                var (serving, error) = await SiloStatusAsync(h.SiloAddress);
                return new ClusterView.SiloView(
                    h.SiloAddress.ToString(),
                    h.SiloName,
                    h.HostName,
                    h.StartTime,
                    [.. partitions.Where(p => p.Status?.Silo == h.SiloAddress.ToString()).Select(p => p.Partition)],
                    serving,
                    error);
            }));
            return TypedResults.Ok(new ClusterView("orleans", partitions.Length, silos, partitions, published, roundSilo));
        });

    public async Task<IResult> ReadinessAsync(HttpContext context, CancellationToken ct)
    {
        if (!Connected)
        {
            return TypedResults.Json(new { status = "cluster unreachable", error = NotConnectedYet }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(2), ct);
            return TypedResults.Ok(new { status = "ready", silos = hosts.Count });
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return TypedResults.Json(new { status = "cluster unreachable", error = ex.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private IRecommenderGrain Recommender => grains.GetGrain<IRecommenderGrain>(0);

    // Each partition alone: one that is moving (its new activation still claiming) must not hide the others.
    private async Task<ClusterView.PartitionView> PartitionAsync(int partition)
    {
        try
        {
            var status = await grains.GetGrain<IPartitionIngressGrain>(partition).EnsureRunningAsync();
            long? lag = status.HighWatermark >= 0 ? status.HighWatermark - Math.Max(status.Committed, 0) : null;
            return new ClusterView.PartitionView(partition, status, lag, null);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return new ClusterView.PartitionView(partition, null, null, ex.Message);
        }
    }

    // Alone too: while the round grain's silo is being declared dead, the rest of the view still answers.
    private async Task<(long? Published, string? Silo)> RoundAsync(IManagementGrain management)
    {
        try
        {
            var round = grains.GetGrain<INeighborhoodRoundGrain>(0);
            var published = await round.EnsureRunningAsync();
            return (published, (await management.GetActivationAddress(round))?.ToString());
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return (null, null);
        }
    }

    // Each silo alone, like the partitions: a silo that is going away answers for nobody else.
    private async Task<(SiloStatusReport? Serving, string? Error)> SiloStatusAsync(SiloAddress silo)
    {
        try
        {
            return (await grains.GetGrain<ISiloStatusGrain>(silo.ToParsableString()).GetAsync(), null);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return (null, ex.Message);
        }
    }

    // Read once: the partition count of a topic never changes once data exists (docs/operations.md).
    private int PartitionCount()
    {
        if (_partitions == 0)
        {
            _partitions = KafkaTopicMetadata.PartitionCount(kafka.Value, kafka.Value.Topics.Events, TimeSpan.FromSeconds(2));
        }

        return _partitions;
    }

    // The same, off the request's thread the first time: librdkafka's metadata request blocks.
    private async ValueTask<int> PartitionCountAsync()
    {
        var partitions = _partitions is > 0 and var known ? known : await Task.Run(PartitionCount);
        return partitions > 0 ? partitions : throw new OrleansException("the events topic's partition count is not known yet (Kafka does not answer)");
    }

    private async Task<IResult> CallAsync(HttpContext context, CancellationToken ct, string what, Func<Task<IResult>> call)
    {
        if (!Connected)
        {
            return Unavailable(context, what, NotConnectedYet);
        }

        try
        {
            return await call().WaitAsync(ct);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LogUnavailable(what, ex.GetType().Name, ex.Message);
            return Unavailable(context, what, ex.Message);
        }
    }

    private static IResult Unavailable(HttpContext context, string what, string reason)
    {
        context.Response.Headers.RetryAfter = "1";
        return TypedResults.Problem(
            $"the cluster did not answer for this {what} in time (a silo may be starting, stopping or unreachable): {reason}",
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Cluster unavailable");
    }

    // What a client sees while no silo can take the call: no gateway connected, a silo that died with the call,
    // the response timeout. A grain's own exception (a bug) is not among them and answers 500.
    private static bool IsUnavailable(Exception ex) => ex is OrleansException or TimeoutException;

    private static IResult NotFound(string detail, string title) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: title);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A neighborhood round request failed; asking again: {Reason}")]
    private partial void LogRebuildRetry(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster did not answer for a {What}: {Exception}: {Reason}")]
    private partial void LogUnavailable(string what, string exception, string reason);
}
