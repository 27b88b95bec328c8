using Microsoft.Extensions.Options;

namespace RecoCluster.Gateway;

/// <summary>Gateway settings. Section <c>Reco:Gateway</c>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Reco:Gateway";

    /// <summary>How long a routed query may spend finding a silo that owns the user (retries included) before
    /// the gateway answers 503. Covers a rebalance: a partition moves in about a session timeout.</summary>
    public int RouteDeadlineMs { get; set; } = 3_000;

    /// <summary>Timeout of one attempt to one silo.</summary>
    public int SiloAttemptTimeoutMs { get; set; } = 1_000;

    /// <summary>Most events accepted in one <c>POST /v1/events</c>.</summary>
    public int MaxEventsPerRequest { get; set; } = 1_000;

    /// <summary>Largest accepted request body, in bytes (1,000 events of about 200 bytes fit with room).</summary>
    public int MaxBodyBytes { get; set; } = 1_048_576;

    /// <summary>How far in the future an event's timestamp may be (producers' clocks drift).</summary>
    public int MaxClockSkewSeconds { get; set; } = 600;

    /// <summary>How old an event may be, in days, when it reaches the gateway; 0 turns the check off. Older events
    /// would land in a user's window as if they were recent (windows are in log order), so a replay of old
    /// history belongs on Kafka directly, deliberately. The schema's own floor (2000-01-01) applies regardless.</summary>
    public int MaxEventAgeDays { get; set; } = 365;

    /// <summary>Consecutive failed attempts (connection errors, timeouts) after which a silo is skipped.</summary>
    public int BreakerFailureThreshold { get; set; } = 3;

    /// <summary>How long a silo is skipped once its breaker opens; then one request tries it again.</summary>
    public int BreakerBreakMs { get; set; } = 2_000;
}

/// <summary>Start-up validation of <see cref="GatewayOptions"/>.</summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.RouteDeadlineMs is < 50 or > 60_000)
        {
            errors.Add($"Reco:Gateway:RouteDeadlineMs is {options.RouteDeadlineMs}; it must be between 50 and 60000.");
        }

        if (options.SiloAttemptTimeoutMs < 10 || options.SiloAttemptTimeoutMs > options.RouteDeadlineMs)
        {
            errors.Add($"Reco:Gateway:SiloAttemptTimeoutMs is {options.SiloAttemptTimeoutMs}; it must be at least 10 and at most RouteDeadlineMs.");
        }

        if (options.MaxEventsPerRequest is < 1 or > 100_000)
        {
            errors.Add($"Reco:Gateway:MaxEventsPerRequest is {options.MaxEventsPerRequest}; it must be between 1 and 100000.");
        }

        if (options.MaxBodyBytes is < 1_024 or > 64 * 1_048_576)
        {
            errors.Add($"Reco:Gateway:MaxBodyBytes is {options.MaxBodyBytes}; it must be between 1 KiB and 64 MiB.");
        }

        if (options.MaxClockSkewSeconds < 0)
        {
            errors.Add($"Reco:Gateway:MaxClockSkewSeconds is {options.MaxClockSkewSeconds}; it must not be negative.");
        }

        if (options.MaxEventAgeDays is < 0 or > 36_500)
        {
            errors.Add($"Reco:Gateway:MaxEventAgeDays is {options.MaxEventAgeDays}; it must be between 0 (no limit) and 36500.");
        }

        if (options.BreakerFailureThreshold is < 1 or > 1_000)
        {
            errors.Add($"Reco:Gateway:BreakerFailureThreshold is {options.BreakerFailureThreshold}; it must be between 1 and 1000.");
        }

        if (options.BreakerBreakMs is < 10 or > 600_000)
        {
            errors.Add($"Reco:Gateway:BreakerBreakMs is {options.BreakerBreakMs}; it must be between 10 and 600000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
