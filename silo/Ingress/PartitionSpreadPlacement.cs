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
}

/// <summary>Marks a grain class for <see cref="PartitionSpreadPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PartitionSpreadPlacementAttribute() : PlacementAttribute(new PartitionSpreadPlacement());

/// <summary>Orleans' side of <see cref="PartitionSpreadPlacement"/>.</summary>
public sealed class PartitionSpreadPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Task.FromResult(PartitionSpreadPlacement.Home(target.GrainIdentity.GetIntegerKey(), context.GetCompatibleSilos(target)));
    }
}
