using Microsoft.Extensions.Logging;

namespace RecoCluster.Gateway.Serving;

/// <summary>
/// Keeps the gateway's Orleans client trying to reach the cluster while it starts: silos and gateways start in any
/// order (a Kubernetes rollout starts them together), so no silo yet is a wait, not a failure. Orleans' default is
/// to give up at the first failed attempt, which would end the gateway process.
/// </summary>
public sealed partial class ClusterConnectionRetry(ILogger<ClusterConnectionRetry> logger) : IClientConnectionRetryFilter
{
    /// <summary>Pause between attempts.</summary>
    public static readonly TimeSpan Pause = TimeSpan.FromSeconds(1);

    private int _attempts;

    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        // Every attempt for the first few, then one line in ten: a gateway waiting minutes should not flood its log.
        var attempt = Interlocked.Increment(ref _attempts);
        if (attempt <= 3 || attempt % 10 == 0)
        {
            LogWaiting(attempt, exception.Message);
        }

        try
        {
            await Task.Delay(Pause, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No silo reachable yet (attempt {Attempt}); trying again: {Reason}")]
    private partial void LogWaiting(int attempt, string reason);
}
