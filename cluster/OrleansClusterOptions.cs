using Microsoft.Extensions.Options;

namespace RecoCluster.Cluster;

/// <summary>How silos find each other and clients find silos: Orleans' membership. Section <c>Reco:Orleans</c>.</summary>
public sealed class OrleansClusterOptions
{
    public const string Section = "Reco:Orleans";

    /// <summary>The membership provider: <see cref="OrleansClustering.AdoNet"/> (a table in PostgreSQL; real
    /// clusters) or <see cref="OrleansClustering.Localhost"/> (one machine, the first silo as the primary).</summary>
    public OrleansClustering Clustering { get; set; } = OrleansClustering.Localhost;

    /// <summary>The PostgreSQL connection string of the membership table (AdoNet only). Empty: the storage's
    /// (<c>Reco:Storage:ConnectionString</c>) when the storage is PostgreSQL.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>The membership providers a cluster can use.</summary>
public enum OrleansClustering
{
    /// <summary>Orleans' development clustering on one machine: every silo knows the primary silo's endpoint.</summary>
    Localhost,

    /// <summary>Orleans' ADO.NET clustering on PostgreSQL, over the tables the silos' schema migration creates.</summary>
    AdoNet,
}

/// <summary>Validates <see cref="OrleansClusterOptions"/> at start-up.</summary>
public sealed class OrleansClusterOptionsValidator : IValidateOptions<OrleansClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(options.Clustering))
        {
            return ValidateOptionsResult.Fail($"Reco:Orleans:Clustering is {options.Clustering}; use Localhost or AdoNet.");
        }

        return options.Clustering == OrleansClustering.AdoNet && string.IsNullOrWhiteSpace(options.ConnectionString)
            ? ValidateOptionsResult.Fail("Reco:Orleans:Clustering is AdoNet but no PostgreSQL connection string is set: set Reco:Orleans:ConnectionString, or use PostgreSQL storage (Reco:Storage:Provider=Postgres), whose connection string it then shares.")
            : ValidateOptionsResult.Success;
    }
}
