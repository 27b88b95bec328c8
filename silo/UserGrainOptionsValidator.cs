using Microsoft.Extensions.Options;
using RecoCluster.Grains;

namespace RecoCluster.Silo;

/// <summary>Start-up validation of <see cref="UserGrainOptions"/> (section <c>Reco:Grains:User</c>).</summary>
public sealed class UserGrainOptionsValidator : IValidateOptions<UserGrainOptions>
{
    /// <summary>Largest weight accepted: weights are relative, and larger ones only bring overflow closer.</summary>
    public const int MaxWeight = 1_000;

    public ValidateOptionsResult Validate(string? name, UserGrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.WindowSize is < 1 or > UserGrainOptions.MaxWindowSize)
        {
            errors.Add($"Reco:Grains:User:WindowSize is {options.WindowSize}; it must be between 1 and {UserGrainOptions.MaxWindowSize}.");
        }

        if (options.WindowSeconds < 0)
        {
            errors.Add($"Reco:Grains:User:WindowSeconds is {options.WindowSeconds}; it must be 0 (no time limit) or more.");
        }

        if (options.MaxItemSideEventsPerDay < 0)
        {
            errors.Add($"Reco:Grains:User:MaxItemSideEventsPerDay is {options.MaxItemSideEventsPerDay}; it must be 0 (no cap) or more.");
        }

        foreach (var (type, weight) in new[] { ("View", options.Weights.View), ("Click", options.Weights.Click), ("AddToCart", options.Weights.AddToCart), ("Purchase", options.Weights.Purchase) })
        {
            if (weight is < 0 or > MaxWeight)
            {
                errors.Add($"Reco:Grains:User:Weights:{type} is {weight}; it must be a whole number between 0 and {MaxWeight}.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
