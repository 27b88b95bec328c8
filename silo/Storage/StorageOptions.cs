using Microsoft.Extensions.Options;

namespace RecoCluster.Silo.Storage;

/// <summary>Where grain state and checkpoints live. Section <c>Reco:Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Reco:Storage";

    /// <summary><c>Sqlite</c> (the embedded default: one file, fine for one machine) or <c>Postgres</c>
    /// (production: several machines share it).</summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>ADO.NET connection string for the provider.</summary>
    public string ConnectionString { get; set; } = "Data Source=.reco/reco.db";

    public StorageProvider ParsedProvider => StorageOptionsValidator.TryParseProvider(Provider, out var p) ? p : throw new InvalidOperationException($"unknown storage provider '{Provider}'");
}

/// <summary>The supported ADO.NET providers.</summary>
public enum StorageProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Start-up validation of <see cref="StorageOptions"/>, with messages that name the setting.</summary>
public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public static bool TryParseProvider(string? value, out StorageProvider provider)
    {
        switch (value?.Trim().ToUpperInvariant())
        {
            case "SQLITE":
                provider = StorageProvider.Sqlite;
                return true;
            case "POSTGRES" or "POSTGRESQL" or "NPGSQL":
                provider = StorageProvider.Postgres;
                return true;
            default:
                provider = default;
                return false;
        }
    }

    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!TryParseProvider(options.Provider, out _))
        {
            errors.Add($"Reco:Storage:Provider '{options.Provider}' is not supported; use 'Sqlite' or 'Postgres'.");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            errors.Add("Reco:Storage:ConnectionString is empty.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
