using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace RecoCluster.Silo.Hosting;

/// <summary>
/// Places a grain on the silo its string key names (<c>SiloAddress.ToParsableString()</c>), so a caller can ask a
/// particular silo about itself. Orleans has no built-in strategy for that (its "prefer local" places on the caller's
/// silo, and a client is on none). A key naming a silo that is not active fails the call instead of placing the
/// grain elsewhere, where it would answer for the wrong silo.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("reco.SiloPinnedPlacement")]
public sealed class SiloPinnedPlacement : PlacementStrategy;

/// <summary>Marks a grain class for <see cref="SiloPinnedPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloPinnedPlacementAttribute() : PlacementAttribute(new SiloPinnedPlacement());

/// <summary>Orleans' side of <see cref="SiloPinnedPlacement"/>.</summary>
public sealed class SiloPinnedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = target.GrainIdentity.Key.ToString();
        SiloAddress silo;
        try
        {
            silo = SiloAddress.FromParsableString(key);
        }
        catch (FormatException)
        {
            throw new OrleansException($"'{key}' is not a silo address (expected SiloAddress.ToParsableString())");
        }

        return context.GetCompatibleSilos(target).Contains(silo)
            ? Task.FromResult(silo)
            : throw new OrleansException($"silo {key} is not an active member of the cluster");
    }
}
