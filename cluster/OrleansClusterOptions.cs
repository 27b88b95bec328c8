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

    /// <summary>Orleans' cluster id: silos and clients with the same id (and membership table) form one cluster.
    /// Two clusters may share a PostgreSQL database under different ids.</summary>
    public string ClusterId { get; set; } = "reco";

    /// <summary>Orleans' service id: stays the same across deployments of the service (grain state and
    /// reminders are kept per service).</summary>
    public string ServiceId { get; set; } = "reco";

    /// <summary>The port silos talk to each other on.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port clients (gateways) connect to a silo on. On a gateway with localhost clustering: the port
    /// of the silo it connects to.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address a silo advertises to the others and to clients (AdoNet only; the pod IP in
    /// Kubernetes). Empty: Orleans picks one of the host's addresses.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>Localhost only: the silo port of the primary silo, which every silo of the machine joins (the primary
    /// is the silo whose <see cref="SiloPort"/> this is).</summary>
    public int PrimarySiloPort { get; set; } = 11111;

    /// <summary>TLS on the silo and gateway ports (<c>Reco:Orleans:Tls</c>); off unless a certificate is set.</summary>
    public OrleansTlsOptions Tls { get; set; } = new();

    /// <summary>Orleans' Kubernetes hosting on silos (<c>Reco:Orleans:Kubernetes</c>); off by default.</summary>
    public OrleansKubernetesOptions Kubernetes { get; set; } = new();
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
            : Details(options);
    }

    private static ValidateOptionsResult Details(OrleansClusterOptions options)
    {
        var errors = new List<string>();
        foreach (var (name, port) in new[] { ("SiloPort", options.SiloPort), ("GatewayPort", options.GatewayPort), ("PrimarySiloPort", options.PrimarySiloPort) })
        {
            if (port is < 1 or > 65535)
            {
                errors.Add($"Reco:Orleans:{name} is {port}; it must be a TCP port (1-65535).");
            }
        }

        if (options.SiloPort == options.GatewayPort)
        {
            errors.Add($"Reco:Orleans:SiloPort and GatewayPort are both {options.SiloPort}; a silo needs two ports.");
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId) || string.IsNullOrWhiteSpace(options.ServiceId))
        {
            errors.Add("Reco:Orleans:ClusterId and ServiceId must not be empty.");
        }

        if (!string.IsNullOrWhiteSpace(options.AdvertisedAddress) && !System.Net.IPAddress.TryParse(options.AdvertisedAddress, out _))
        {
            errors.Add($"Reco:Orleans:AdvertisedAddress is '{options.AdvertisedAddress}'; it must be an IP address.");
        }

        errors.AddRange(TlsErrors(options.Tls));
        if (options.Kubernetes.Enabled && options.Clustering != OrleansClustering.AdoNet)
        {
            errors.Add("Reco:Orleans:Kubernetes:Enabled needs Reco:Orleans:Clustering=AdoNet: pods come and go, and localhost clustering is one machine only.");
        }

        if (!string.IsNullOrWhiteSpace(options.Kubernetes.KubeconfigPath) && !File.Exists(options.Kubernetes.KubeconfigPath))
        {
            errors.Add($"Reco:Orleans:Kubernetes:KubeconfigPath is '{options.Kubernetes.KubeconfigPath}', which is not a readable file.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static IEnumerable<string> TlsErrors(OrleansTlsOptions tls)
    {
        if (!tls.Enabled)
        {
            if (!string.IsNullOrWhiteSpace(tls.KeyPath) || !string.IsNullOrWhiteSpace(tls.CaPath))
            {
                yield return "Reco:Orleans:Tls:KeyPath or CaPath is set without Reco:Orleans:Tls:CertificatePath; set the certificate too, or neither.";
            }

            yield break;
        }

        if (string.IsNullOrWhiteSpace(tls.KeyPath))
        {
            yield return "Reco:Orleans:Tls:CertificatePath is set without Reco:Orleans:Tls:KeyPath (the certificate's private key, PEM).";
        }

        foreach (var (name, path) in new[] { ("CertificatePath", tls.CertificatePath), ("KeyPath", tls.KeyPath), ("CaPath", tls.CaPath) })
        {
            if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
            {
                yield return $"Reco:Orleans:Tls:{name} is '{path}', which is not a readable file.";
            }
        }
    }
}
