using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Catalog;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Silo.Hosting;

/// <summary><see cref="ISiloStatusGrain"/>: reads the silo's own snapshot holder and catalog, on the silo its key
/// names. Reentrant: it only reads values that are swapped whole.</summary>
[SiloPinnedPlacement, Orleans.Concurrency.Reentrant]
public sealed class SiloStatusGrain(SnapshotHolder snapshots, ItemCatalog catalog) : Grain, ISiloStatusGrain
{
    public Task<SiloStatusReport> GetAsync()
    {
        var snapshot = snapshots.Current;
        return Task.FromResult(new SiloStatusReport(snapshot.Version, snapshot.Version == 0 ? null : snapshot.BuiltAt, snapshot.ItemCount, catalog.Count));
    }
}
