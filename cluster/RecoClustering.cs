using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RecoCluster.Cluster;

/// <summary>Orleans membership from <c>Reco:Orleans</c>, the same way for silos and for clients.</summary>
public static class RecoClustering
{
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
}
