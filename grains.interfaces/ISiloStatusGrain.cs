namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// What one silo holds for serving, asked of that silo itself: the grain is placed on the silo its key names
/// (its Orleans address in parsable form, <c>SiloAddress.ToParsableString()</c>), and a call for a silo that is not
/// active fails. The admin view asks every active silo, so an operator sees which snapshot each one serves.
/// </summary>
public interface ISiloStatusGrain : IGrainWithStringKey
{
    /// <summary>The silo's served snapshot and catalog.</summary>
    Task<SiloStatusReport> GetAsync();
}

/// <summary>What <see cref="ISiloStatusGrain"/> reports.</summary>
/// <param name="SnapshotVersion">The neighborhood snapshot version the silo serves (0 before the first).</param>
/// <param name="SnapshotBuiltAt">When that version was built; null for version 0.</param>
/// <param name="SnapshotItems">Items in that version.</param>
/// <param name="CatalogItems">Items in the silo's copy of the catalog.</param>
[GenerateSerializer, Immutable, Alias("reco.SiloStatusReport")]
public sealed record SiloStatusReport(long SnapshotVersion, DateTimeOffset? SnapshotBuiltAt, int SnapshotItems, int CatalogItems);
