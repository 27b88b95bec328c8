using Microsoft.Extensions.Options;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;

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

        // Compared with the window only when the window itself is valid: one wrong setting, one message.
        var windowValid = options.WindowSize is >= 1 and <= UserGrainOptions.MaxWindowSize;
        if (options.SequentialSteps < 0 || (windowValid && options.SequentialSteps > options.WindowSize))
        {
            errors.Add($"Reco:Grains:User:SequentialSteps is {options.SequentialSteps}; it must be between 0 (off) and the window size ({options.WindowSize}).");
        }

        foreach (var (type, weight) in new[] { ("View", options.Weights.View), ("Click", options.Weights.Click), ("AddToCart", options.Weights.AddToCart), ("Purchase", options.Weights.Purchase) })
        {
            if (weight is < 0 or > MaxWeight)
            {
                errors.Add($"Reco:Grains:User:Weights:{type} is {weight}; it must be a whole number between 0 and {MaxWeight}.");
            }
        }

        var f = options.Factors;
        if (f.Dimensions is < 0 or > 256)
        {
            errors.Add($"Reco:Grains:User:Factors:Dimensions is {f.Dimensions}; it must be between 0 (off) and 256.");
        }

        if (!(f.LearningRate is > 0 and <= 1) || !(f.Regularization is >= 0 and < 1) || !(f.InitScale is > 0 and <= 1))
        {
            errors.Add("Reco:Grains:User:Factors: LearningRate must be in (0, 1], Regularization in [0, 1) and InitScale in (0, 1].");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Start-up validation of <see cref="NeighborhoodOptions"/> (section <c>Reco:Neighborhoods</c>).</summary>
public sealed class NeighborhoodOptionsValidator : IValidateOptions<NeighborhoodOptions>
{
    public ValidateOptionsResult Validate(string? name, NeighborhoodOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!Enum.IsDefined(options.Measure))
        {
            errors.Add($"Reco:Neighborhoods:Measure '{options.Measure}' is not one of Cosine, Jaccard, LogLikelihood.");
        }

        if (options.NeighborCount is < 1 or > 1_000)
        {
            errors.Add($"Reco:Neighborhoods:NeighborCount is {options.NeighborCount}; it must be between 1 and 1000.");
        }

        if (options.MinCooccurrence < 1)
        {
            errors.Add($"Reco:Neighborhoods:MinCooccurrence is {options.MinCooccurrence}; it must be 1 or more.");
        }

        if (options.RoundIntervalSeconds < 0)
        {
            errors.Add($"Reco:Neighborhoods:RoundIntervalSeconds is {options.RoundIntervalSeconds}; it must be 0 (on request only) or more.");
        }

        if (options.Shrinkage < 0 || options.NextShrinkage < 0 || options.NextCount is < 1 or > 1_000)
        {
            errors.Add($"Reco:Neighborhoods: Shrinkage ({options.Shrinkage}) and NextShrinkage ({options.NextShrinkage}) must not be negative, and NextCount ({options.NextCount}) must be between 1 and 1000.");
        }

        if (options.PopularityHalfLifeHours <= 0 || options.PopularCount is < 1 or > 10_000)
        {
            errors.Add("Reco:Neighborhoods: PopularityHalfLifeHours must be positive and PopularCount between 1 and 10000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Start-up validation of <see cref="RecommenderOptions"/> (section <c>Reco:Recommendations</c>).</summary>
public sealed class RecommenderOptionsValidator : IValidateOptions<RecommenderOptions>
{
    public ValidateOptionsResult Validate(string? name, RecommenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.NeighborhoodWeight < 0 || options.SequentialWeight < 0 || options.FactorWeight < 0 || options.PopularityWeight < 0)
        {
            errors.Add("Reco:Recommendations: NeighborhoodWeight, SequentialWeight, FactorWeight and PopularityWeight must not be negative.");
        }

        if (options.SequentialRecencyDecay is <= 0 or > 1)
        {
            errors.Add($"Reco:Recommendations:SequentialRecencyDecay is {options.SequentialRecencyDecay}; it must be in (0, 1].");
        }

        if (options.FactorTrustItems is < 0 or > UserGrainOptions.MaxWindowSize || options.SessionGapSeconds < 0)
        {
            errors.Add($"Reco:Recommendations: FactorTrustItems ({options.FactorTrustItems}) must be between 0 and {UserGrainOptions.MaxWindowSize}, and SessionGapSeconds ({options.SessionGapSeconds}) must not be negative.");
        }

        if (options.RecencyDecay is <= 0 or > 1)
        {
            errors.Add($"Reco:Recommendations:RecencyDecay is {options.RecencyDecay}; it must be in (0, 1].");
        }

        if (options.FactorCandidates is < 0 or > 10_000)
        {
            errors.Add($"Reco:Recommendations:FactorCandidates is {options.FactorCandidates}; it must be between 0 and 10000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
