using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RecoCluster.Silo.Neighborhoods;

/// <summary>Every silo's follower of the published snapshot versions: polls the rounds table and installs each new
/// version once. Polling the database (rather than being told by the round grain) means a silo that was down or
/// busy when a version was published still picks it up, and the round grain needs no list of silos.</summary>
public sealed partial class SnapshotFollower(SnapshotLoader loader, TimeProvider time, ILogger<SnapshotFollower> logger) : BackgroundService
{
    /// <summary>Bounds the delay between a version's publication and this silo serving it.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await loader.InstallNewestAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the database may be away or not migrated yet; the next poll tries again
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogPollFailed(ex.Message);
            }

            try
            {
                await Task.Delay(PollInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look for a new snapshot version: {Reason}")]
    private partial void LogPollFailed(string reason);
}
