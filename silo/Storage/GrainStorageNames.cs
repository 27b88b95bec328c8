namespace RecoCluster.Silo.Storage;

/// <summary>The names of the grain storage providers the grains ask for; the silo registers them.</summary>
public static class GrainStorageNames
{
    /// <summary>Orleans grain state (the neighborhood round grain's): the silo's group-commit storage over the configured
    /// database.</summary>
    public const string Grains = "reco";
}
