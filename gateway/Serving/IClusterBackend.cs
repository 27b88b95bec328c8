using Microsoft.AspNetCore.Http;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Gateway.Serving;

/// <summary>
/// Where the gateway's reads and admin calls go. The endpoints validate every request first, so a backend gets only
/// valid arguments, and answers with the result to send: the value, a 404 problem, or a 503 problem with
/// Retry-After when the cluster did not answer in time.
/// </summary>
/// <remarks><see cref="GrainBackend"/> implements it with the Orleans client; the endpoints know only this, so the
/// HTTP contract (validation, status codes, problem details) stays apart from how the cluster is reached.</remarks>
public interface IClusterBackend
{
    /// <summary>A user's history, or 404; read at the request's position (null: this gateway's own).</summary>
    Task<IResult> UserAsync(string userId, PositionToken? position, HttpContext context, CancellationToken ct);

    /// <summary>Recommendations for a user, read at the request's position (null: this gateway's own).</summary>
    Task<IResult> RecommendationsAsync(string userId, int count, PositionToken? position, HttpContext context, CancellationToken ct);

    /// <summary>Items similar to an item, or 404.</summary>
    Task<IResult> SimilarAsync(string itemId, int count, HttpContext context, CancellationToken ct);

    /// <summary>Popular items.</summary>
    Task<IResult> PopularAsync(int count, HttpContext context, CancellationToken ct);

    /// <summary>Complements of a (validated) basket.</summary>
    Task<IResult> CartAsync(CartRequest cart, HttpContext context, CancellationToken ct);

    /// <summary>An item's counts and co-occurrence rows, or 404.</summary>
    Task<IResult> CooccurrenceAsync(string itemId, int count, HttpContext context, CancellationToken ct);

    /// <summary>Runs a neighborhood round and answers once its version is published.</summary>
    Task<IResult> RebuildAsync(PositionToken? position, HttpContext context, CancellationToken ct);

    /// <summary>The cluster's silos and partitions, for operators.</summary>
    Task<IResult> ClusterAsync(HttpContext context, CancellationToken ct);

    /// <summary>The gateway's readiness: 200 when it can reach the cluster, 503 otherwise.</summary>
    Task<IResult> ReadinessAsync(HttpContext context, CancellationToken ct);
}
