using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace RecoCluster.Gateway.Routing;

/// <summary>
/// A circuit breaker per silo endpoint. After <see cref="GatewayOptions.BreakerFailureThreshold"/> consecutive
/// failed attempts (connection refused, timeout) the silo is skipped for <see cref="GatewayOptions.BreakerBreakMs"/>,
/// so a dead silo whose directory entry has not expired yet costs a request nothing instead of an attempt
/// timeout. When the break is over the silo is tried again (half-open): one success closes the breaker, one more
/// failure opens it for another break.
/// </summary>
/// <remarks>
/// Hand-written rather than Polly.Core's breaker (which restores here): Polly's breaker trips on a failure ratio
/// over a sampling window, one pipeline per key; the rule we want is "N in a row, per silo", which is a counter
/// and a time stamp. A 421 (not the owner) is an answer, not a failure: that silo is healthy.
/// </remarks>
public sealed class SiloCircuitBreaker(IOptions<GatewayOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, State> _silos = new(StringComparer.Ordinal);
    private readonly int _threshold = options.Value.BreakerFailureThreshold;
    private readonly TimeSpan _break = TimeSpan.FromMilliseconds(options.Value.BreakerBreakMs);

    /// <summary>Whether a request may go to <paramref name="endpoint"/> now.</summary>
    public bool AllowsRequest(string endpoint) =>
        !_silos.TryGetValue(endpoint, out var state) || state.AllowsRequest(time.GetTimestamp());

    /// <summary>Whether the breaker of <paramref name="endpoint"/> is open (the silo is being skipped).</summary>
    public bool IsOpen(string endpoint) => !AllowsRequest(endpoint);

    /// <summary>The silo answered: its failure count starts again from zero.</summary>
    public void OnSuccess(string endpoint)
    {
        if (_silos.TryGetValue(endpoint, out var state))
        {
            state.Reset();
        }
    }

    /// <summary>An attempt to the silo failed; the N-th failure in a row opens the breaker.</summary>
    public void OnFailure(string endpoint) =>
        _silos.GetOrAdd(endpoint, _ => new State()).Fail(_threshold, time.GetTimestamp() + (long)(_break.TotalSeconds * time.TimestampFrequency));

    private sealed class State
    {
        private readonly Lock _gate = new();
        private int _failures;
        private long _openUntil;

        public bool AllowsRequest(long now)
        {
            lock (_gate)
            {
                return _openUntil == 0 || now >= _openUntil;
            }
        }

        public void Reset()
        {
            lock (_gate)
            {
                _failures = 0;
                _openUntil = 0;
            }
        }

        public void Fail(int threshold, long openUntil)
        {
            lock (_gate)
            {
                // In the half-open state the count is still at the threshold, so one more failure re-opens it.
                _failures = Math.Min(_failures + 1, threshold);
                if (_failures >= threshold)
                {
                    _openUntil = openUntil;
                }
            }
        }
    }
}
