using Microsoft.Extensions.Options;

namespace RecoCluster.Silo;

/// <summary>Silo settings. Section <c>Reco:Silo</c>.</summary>
public sealed class SiloOptions
{
    public const string Section = "Reco:Silo";

    /// <summary>Unique id of this silo process; generated when empty.</summary>
    public string? Id { get; set; }

    /// <summary>The base URL other processes use to reach this silo's internal endpoint (in Kubernetes, the pod
    /// IP). When empty, the address Kestrel bound is used, with a wildcard host replaced by 127.0.0.1.</summary>
    public string? AdvertisedUrl { get; set; }

    /// <summary>How often each partition writes a checkpoint. Effects of at most this much work are replayed
    /// after a crash; a shorter interval means more, smaller transactions.</summary>
    public int CheckpointIntervalMs { get; set; } = 500;

    /// <summary>Records queued per partition before the silo pauses fetching that partition. Bounds memory
    /// when the database is slow: the log, not the silo, holds the backlog.</summary>
    public int MaxQueuedRecordsPerPartition { get; set; } = 5_000;

    /// <summary>A clean grain not used for this long is deactivated (dropped from memory; it reloads from storage
    /// on its next message), so memory follows the active users and items, not all that ever were.</summary>
    public int IdleGrainSeconds { get; set; } = 300;
}

/// <summary>Start-up validation of <see cref="SiloOptions"/>.</summary>
public sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.CheckpointIntervalMs is < 10 or > 60_000)
        {
            errors.Add($"Reco:Silo:CheckpointIntervalMs is {options.CheckpointIntervalMs}; it must be between 10 and 60000.");
        }

        if (options.MaxQueuedRecordsPerPartition is < 10 or > 1_000_000)
        {
            errors.Add($"Reco:Silo:MaxQueuedRecordsPerPartition is {options.MaxQueuedRecordsPerPartition}; it must be between 10 and 1000000.");
        }

        if (options.IdleGrainSeconds is < 1 or > 86_400)
        {
            errors.Add($"Reco:Silo:IdleGrainSeconds is {options.IdleGrainSeconds}; it must be between 1 and 86400.");
        }

        if (!string.IsNullOrEmpty(options.AdvertisedUrl) && !Uri.TryCreate(options.AdvertisedUrl, UriKind.Absolute, out _))
        {
            errors.Add($"Reco:Silo:AdvertisedUrl '{options.AdvertisedUrl}' is not an absolute URL.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
