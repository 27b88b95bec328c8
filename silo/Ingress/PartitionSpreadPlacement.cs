using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace RecoCluster.Silo.Ingress;

/// <summary>
/// Places partition ingress grains evenly: partition p on the (p mod n)-th of the n active silos, ordered by address.
/// Orleans' built-in strategies place by load or by a hash, which leaves whole silos without a partition when there
/// are few partitions (and every ingress on the first silo when it starts alone); here every silo reads
/// ⌊P/n⌋ or ⌈P/n⌉ partitions, and the ingress moves itself when the membership changes (see
/// <see cref="PartitionIngressGrain"/>).
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("reco.PartitionSpreadPlacement")]
public sealed class PartitionSpreadPlacement : PlacementStrategy
{
    /// <summary>The silo partition <paramref name="partition"/> belongs on, among <paramref name="silos"/>.</summary>
    public static SiloAddress Home(long partition, IEnumerable<SiloAddress> silos)
    {
        var ordered = silos.Order().ToArray();
        if (ordered.Length == 0)
        {
            throw new InvalidOperationException("no silo to place an ingress on");
        }

        return ordered[(int)(partition % ordered.Length)];
    }

    /// <summary>Whether a grain placed this way, active on <paramref name="here"/> since
    /// <paramref name="activeForMs"/> ago, should move to its home: the home is another active silo, and the
    /// activation has stayed three keeper rounds. Silos see a membership change at slightly different moments, and
    /// placement may still count a silo that is about to be declared dead: a fresh activation stays a few rounds
    /// before it moves again, so views that disagree for a moment do not bounce it between silos. The home is
    /// computed over the set the placement director places over (this silo's active members), so a grain never
    /// moves to a silo placement would not send it to.</summary>
    public static bool ShouldMove(long key, SiloAddress here, long activeForMs, int keeperIntervalMs, IClusterMembershipService membership)
    {
        var active = ActiveSilos(membership);
        return activeForMs > 3 * keeperIntervalMs && active.Contains(here) && !Home(key, active).Equals(here);
    }

    /// <summary>The active members of <paramref name="membership"/>'s current view: where ingresses are placed, and
    /// what each ingress checks its home against.</summary>
    public static List<SiloAddress> ActiveSilos(IClusterMembershipService membership)
    {
        ArgumentNullException.ThrowIfNull(membership);
        return [.. membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress)];
    }
}

/// <summary>Marks a grain class for <see cref="PartitionSpreadPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PartitionSpreadPlacementAttribute() : PlacementAttribute(new PartitionSpreadPlacement());

/// <summary>Orleans' side of <see cref="PartitionSpreadPlacement"/>.</summary>
/// <remarks>
/// It places over the active members of this silo's membership view, the same set an ingress checks its home
/// against (<see cref="PartitionIngressGrain"/>), so that the two decisions agree by construction. Orleans' own list
/// of compatible silos is built from the grain manifests each silo has received, and under load one silo can go on
/// placing from a list without the other: a fresh-clone test under load saw an ingress placed on one silo and
/// moving to its home on the other every few seconds, for minutes. Every silo runs the same grains, so an active
/// member can host an ingress; Orleans' list is the fallback only while the view has no active member.
/// </remarks>
public sealed class PartitionSpreadPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var active = PartitionSpreadPlacement.ActiveSilos(membership);
        IEnumerable<SiloAddress> candidates = active.Count > 0 ? active : context.GetCompatibleSilos(target);
        return Task.FromResult(PartitionSpreadPlacement.Home(target.GrainIdentity.GetIntegerKey(), candidates));
    }
}
