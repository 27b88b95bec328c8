using Microsoft.Extensions.Options;

namespace RecoCluster.Gateway;

/// <summary>Gateway settings. Section <c>Reco:Gateway</c>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Reco:Gateway";

    /// <summary>How long a query's grain calls may take before the gateway answers 503 with <c>Retry-After</c>:
    /// the Orleans client's response timeout. A grain whose silo just died answers from its new activation, or
    /// not within this deadline.</summary>
    public int RouteDeadlineMs { get; set; } = 3_000;

    /// <summary>How long a read of a user (recommendations, history) waits for the user's partition to apply every
    /// event of the request's position, or of what this gateway produced when it carries none (read-your-writes).
    /// Past it the answer comes as it is, marked <c>behind</c>; 0 waits for nothing and only marks.</summary>
    public int ReadYourWritesWaitMs { get; set; } = 200;

    /// <summary>How much longer such a read waits when the ingress of the user's partition is starting (a partition
    /// moves to another silo when silos join or leave, and its new ingress first re-applies what the old one had
    /// applied): long enough for a move, so that a write the gateway accepted is not answered <c>behind</c> only
    /// because its partition moved. Counted from the ingress's activation: after a restart with a long backlog, only
    /// the reads of its first moments wait longer. Used up to what <see cref="RouteDeadlineMs"/> leaves after
    /// <see cref="ReadYourWritesWaitMs"/> and a tenth of the deadline for the call itself
    /// (<see cref="StartWait"/>), so that a deadline set before this setting existed still holds.</summary>
    public int ReadYourWritesStartWaitMs { get; set; } = 2_000;

    /// <summary>The start wait a read gets: <see cref="ReadYourWritesStartWaitMs"/>, cut to what the route deadline
    /// leaves.</summary>
    public TimeSpan StartWait =>
        TimeSpan.FromMilliseconds(Math.Min(ReadYourWritesStartWaitMs, Math.Max(0, RouteDeadlineMs - (RouteDeadlineMs / 10) - ReadYourWritesWaitMs)));

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

        if (options.ReadYourWritesWaitMs < 0 || options.ReadYourWritesWaitMs >= options.RouteDeadlineMs)
        {
            errors.Add($"Reco:Gateway:ReadYourWritesWaitMs is {options.ReadYourWritesWaitMs}; it must be at least 0 and below Reco:Gateway:RouteDeadlineMs ({options.RouteDeadlineMs}), which bounds the read that waits.");
        }

        if (options.ReadYourWritesStartWaitMs is < 0 or > 60_000)
        {
            errors.Add($"Reco:Gateway:ReadYourWritesStartWaitMs is {options.ReadYourWritesStartWaitMs}; it must be between 0 and 60000.");
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

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
