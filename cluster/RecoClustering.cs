using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RecoCluster.Cluster;

/// <summary>Orleans membership from <c>Reco:Orleans</c>, the same way for silos and for clients.</summary>
public static class RecoClustering
{
    /// <summary>Orleans' <c>ClusterMembershipOptions</c>, bound as they are named there.</summary>
    public const string MembershipSection = "Reco:Orleans:Membership";

    /// <summary>The ADO.NET invariant of PostgreSQL's driver, which Orleans loads by this name.</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary>Reads <c>Reco:Orleans</c>, with the connection string defaulting to the storage's when that is
    /// PostgreSQL, and validates it (a silo or client cannot start without its membership settings).</summary>
    public static OrleansClusterOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new OrleansClusterOptions();
        configuration.GetSection(OrleansClusterOptions.Section).Bind(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString)
            && string.Equals(configuration["Reco:Storage:Provider"], "Postgres", StringComparison.OrdinalIgnoreCase))
        {
            options.ConnectionString = configuration["Reco:Storage:ConnectionString"];
        }

        var result = new OrleansClusterOptionsValidator().Validate(null, options);
        return result.Failed ? throw new OptionsValidationException(OrleansClusterOptions.Section, typeof(OrleansClusterOptions), result.Failures) : options;
    }

    /// <summary>Makes a silo use the configured membership table (AdoNet). Localhost clustering needs the silo's
    /// ports, so the host configures it with its endpoints; this adds nothing for it.</summary>
    public static ISiloBuilder UseRecoClustering(this ISiloBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Read(configuration);
        if (options.Clustering == OrleansClustering.AdoNet)
        {
            builder.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresInvariant;
                o.ConnectionString = options.ConnectionString;
            });
        }

        return builder;
    }

    /// <summary>Makes a client find its gateways in the configured membership table (AdoNet).</summary>
    public static IClientBuilder UseRecoClustering(this IClientBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Read(configuration);
        if (options.Clustering == OrleansClustering.AdoNet)
        {
            builder.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresInvariant;
                o.ConnectionString = options.ConnectionString;
            });
        }

        return builder;
    }

    /// <summary>Makes a silo of a real deployment a member of the configured cluster: its ids, its ports, TLS on its
    /// links and Orleans' Kubernetes hosting when configured, and its membership (localhost with the primary silo, or
    /// the AdoNet table). Orleans' TestingHost sets ids and ports
    /// itself and uses <see cref="UseRecoClustering(ISiloBuilder, IConfiguration)"/> alone.</summary>
    public static ISiloBuilder UseRecoCluster(this ISiloBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Read(configuration);
        // Orleans' own failure detection settings (ProbeTimeout, NumMissedProbesLimit, ...), for who needs a dead
        // silo declared faster than Orleans' defaults do (tests; Kubernetes gets it from its hosting package).
        builder.Services.AddOptions<Orleans.Configuration.ClusterMembershipOptions>().Bind(configuration.GetSection(MembershipSection));
        builder.UseRecoTls(options.Tls);
        if (options.Clustering == OrleansClustering.Localhost)
        {
            return builder.UseLocalhostClustering(options.SiloPort, options.GatewayPort, new IPEndPoint(IPAddress.Loopback, options.PrimarySiloPort), options.ServiceId, options.ClusterId);
        }

        SetIds(builder.Services, options);
        if (options.Kubernetes.Enabled)
        {
            builder.UseKubernetesHosting(hosting => hosting.Configure(k =>
            {
                if (!string.IsNullOrWhiteSpace(options.Kubernetes.KubeconfigPath))
                {
                    var kubeconfig = options.Kubernetes.KubeconfigPath;
                    k.GetClientConfiguration = () => k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
                }

                k.DeleteDefunctSiloPods = options.Kubernetes.DeleteDefunctSiloPods;
            }));
        }

        var advertised = string.IsNullOrWhiteSpace(options.AdvertisedAddress) ? null : IPAddress.Parse(options.AdvertisedAddress);
        if (advertised is null)
        {
            builder.ConfigureEndpoints(options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
        }
        else
        {
            builder.ConfigureEndpoints(advertised, options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
        }

        return builder.UseRecoClustering(configuration);
    }

    /// <summary>Makes a client (the gateway) find the configured cluster: the localhost silo's gateway port, or
    /// every silo in the AdoNet table; over TLS when configured.</summary>
    public static IClientBuilder UseRecoCluster(this IClientBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Read(configuration);
        builder.UseRecoTls(options.Tls);
        if (options.Clustering == OrleansClustering.Localhost)
        {
            return builder.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId);
        }

        SetIds(builder.Services, options);
        return builder.UseRecoClustering(configuration);
    }

    private static void SetIds(IServiceCollection services, OrleansClusterOptions options) =>
        services.Configure<Orleans.Configuration.ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
}
