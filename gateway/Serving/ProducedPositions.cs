using System.Collections.Concurrent;

namespace RecoCluster.Gateway.Serving;

/// <summary>
/// The events positions this gateway has had acknowledged: per partition, the offset after the last event it
/// produced there. A read that carries no position waits for these (read-your-writes for a storefront that writes
/// and reads through the same gateway, without handling positions).
/// </summary>
public sealed class ProducedPositions
{
    private readonly ConcurrentDictionary<int, long> _next = new();

    /// <summary>Records that every event below <paramref name="next"/> on <paramref name="partition"/> is
    /// acknowledged (positions only move forward).</summary>
    public void Acknowledged(int partition, long next) =>
        _next.AddOrUpdate(partition, next, (_, known) => Math.Max(known, next));

    /// <summary>Whether this gateway has produced anything yet.</summary>
    public bool Any => !_next.IsEmpty;

    /// <summary>The offset after the last event this gateway produced to <paramref name="partition"/>, or 0.</summary>
    public long For(int partition) => _next.GetValueOrDefault(partition);
}
