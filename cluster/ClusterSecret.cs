using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace RecoCluster.Cluster;

/// <summary>Settings every process of a cluster shares. Section <c>Reco:Cluster</c>.</summary>
public sealed class ClusterOptions
{
    public const string Section = "Reco:Cluster";

    /// <summary>Shortest accepted secret, in characters.</summary>
    public const int MinSecretLength = 16;

    /// <summary>The shared secret the gateway sends to silos' internal endpoint (<c>/internal/v1/*</c>), and
    /// silos require, in the header <see cref="ClusterSecret.Header"/>. Same value on every silo and gateway.
    /// <c>./reco dev</c> generates one; production reads it from a Kubernetes Secret.</summary>
    public string? Secret { get; set; }
}

/// <summary>Start-up validation of <see cref="ClusterOptions"/>: a silo or gateway without a secret does not start.</summary>
public sealed class ClusterOptionsValidator : IValidateOptions<ClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.Secret))
        {
            return ValidateOptionsResult.Fail(
                "Reco:Cluster:Secret is not set; every silo and gateway of a cluster needs the same secret (at least " +
                $"{ClusterOptions.MinSecretLength} characters, e.g. `openssl rand -hex 32`) so that only they can call the silos' internal endpoint.");
        }

        if (options.Secret.Length < ClusterOptions.MinSecretLength || options.Secret.Any(c => c <= ' ' || c > '~'))
        {
            return ValidateOptionsResult.Fail(
                $"Reco:Cluster:Secret must be at least {ClusterOptions.MinSecretLength} printable ASCII characters without spaces (it travels in an HTTP header).");
        }

        return ValidateOptionsResult.Success;
    }
}

/// <summary>
/// The cluster secret, and its constant-time check. Silos accept internal calls only with it, so nothing but
/// the gateway and other silos can read grain state around the gateway's keys and limits.
/// </summary>
public sealed class ClusterSecret
{
    /// <summary>The HTTP header that carries the secret on internal calls.</summary>
    public const string Header = "X-Reco-Cluster-Secret";

    private readonly byte[] _hash;

    public ClusterSecret(IOptions<ClusterOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Value = options.Value.Secret ?? string.Empty;
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(Value));
    }

    /// <summary>The secret itself, for the gateway's outgoing calls.</summary>
    public string Value { get; }

    /// <summary>Whether <paramref name="presented"/> is the secret. Hashes are compared, in constant time, so
    /// neither the secret's length nor the position of the first wrong character shows in the timing.</summary>
    public bool Matches(string? presented) =>
        Value.Length > 0
        && presented is not null
        && CryptographicOperations.FixedTimeEquals(_hash, SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
}
