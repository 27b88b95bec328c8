namespace RecoCluster.Grains.Orleans;

/// <summary>The names of the grain storage providers the grains ask for; the silo registers them.</summary>
public static class GrainStorageNames
{
    /// <summary>User and item grain state: the silo's group-commit storage over the configured database.</summary>
    public const string Grains = "reco";
}
