using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RecoCluster.Gateway.Security;

/// <summary>Who a valid key belongs to. <see cref="Id"/> names the key in logs and rate-limit partitions (never
/// the key itself): <c>admin#0</c> for the first configured admin key, or the key file's name.</summary>
public sealed record ApiKeyIdentity(string Id, ApiScope Scope);

/// <summary>
/// The gateway's API keys, from configuration and the keys directory. Only SHA-256 hashes are kept, and a lookup
/// compares the presented key's hash with every known hash in constant time, so the answer's timing says
/// nothing about how close a guess was.
/// </summary>
public sealed class ApiKeys
{
    private readonly GatewayAuthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ApiKeys> _logger;
    private readonly Lock _reloadGate = new();
    private IReadOnlyList<Entry> _entries;
    private long _loadedAt;

    public ApiKeys(IOptions<GatewayAuthOptions> options, TimeProvider time, ILogger<ApiKeys> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _logger = logger;
        var (entries, errors) = Load(_options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(GatewayAuthOptions.Section, typeof(GatewayAuthOptions), errors);
        }

        _entries = entries;
        _loadedAt = time.GetTimestamp();
    }

    /// <summary>How many keys are known.</summary>
    public int Count => Volatile.Read(ref _entries).Count;

    /// <summary>The identity of <paramref name="presented"/>, or null when it is no known key.</summary>
    public ApiKeyIdentity? Find(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        ReloadIfDue();
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKeyIdentity? found = null;
        // Every entry is compared, match or not: the loop's length depends on the number of keys, not on them.
        foreach (var entry in Volatile.Read(ref _entries))
        {
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Hash))
            {
                found = entry.Identity;
            }
        }

        return found;
    }

    /// <summary>Reads every key from <paramref name="options"/> and its keys directory; the errors say which
    /// setting or file is wrong (without printing any key).</summary>
    public static (IReadOnlyList<Entry> Entries, List<string> Errors) Load(GatewayAuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var entries = new List<Entry>();
        var errors = new List<string>();
        foreach (var (scope, keys) in options.ConfiguredKeys())
        {
            for (var i = 0; i < keys.Count; i++)
            {
                Add(entries, errors, new ApiKeyIdentity($"{scope.Name()}#{i}", scope), keys[i], $"Reco:Gateway:Auth:{scope}Keys:{i}");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.KeysDirectory))
        {
            if (!Directory.Exists(options.KeysDirectory))
            {
                errors.Add($"Reco:Gateway:Auth:KeysDirectory '{options.KeysDirectory}' does not exist.");
            }
            else
            {
                foreach (var file in Directory.EnumerateFiles(options.KeysDirectory).Order(StringComparer.Ordinal))
                {
                    var name = Path.GetFileName(file);
                    if (name.StartsWith('.'))
                    {
                        continue;
                    }

                    var dash = name.IndexOf('-', StringComparison.Ordinal);
                    if (dash <= 0 || dash == name.Length - 1 || !ApiScopes.TryParse(name[..dash], out var scope))
                    {
                        errors.Add($"key file '{file}' must be named <scope>-<name>, with scope read, ingest or admin.");
                        continue;
                    }

                    Add(entries, errors, new ApiKeyIdentity(name, scope), File.ReadAllText(file).Trim(), $"key file '{file}'");
                }
            }
        }

        return (entries, errors);
    }

    private static void Add(List<Entry> entries, List<string> errors, ApiKeyIdentity identity, string? key, string where)
    {
        if (string.IsNullOrEmpty(key) || key.Length < GatewayAuthOptions.MinKeyLength || key.Any(c => c <= ' ' || c > '~'))
        {
            errors.Add($"{where}: an API key must be at least {GatewayAuthOptions.MinKeyLength} printable ASCII characters without spaces (e.g. `openssl rand -hex 24`).");
            return;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        if (entries.Find(e => e.Hash.AsSpan().SequenceEqual(hash)) is { } twin)
        {
            errors.Add($"{where}: the same key is also given as {twin.Identity.Id}; a key must have one scope.");
            return;
        }

        entries.Add(new Entry(identity, hash));
    }

    // The keys directory is read again now and then, so a rotated Secret takes effect without a restart. A
    // directory that has become invalid keeps the previous keys (and says why in the log).
    private void ReloadIfDue()
    {
        if (string.IsNullOrWhiteSpace(_options.KeysDirectory)
            || _time.GetElapsedTime(Interlocked.Read(ref _loadedAt)) < TimeSpan.FromSeconds(_options.KeysReloadSeconds)
            || !_reloadGate.TryEnter())
        {
            return;
        }

        try
        {
            Interlocked.Exchange(ref _loadedAt, _time.GetTimestamp());
            var (entries, errors) = Load(_options);
            if (errors.Count > 0)
            {
                _logger.LogError("API keys not reloaded, the previous keys stay in use: {Errors}", string.Join(" ", errors));
                return;
            }

            if (entries.Count != Volatile.Read(ref _entries).Count)
            {
                _logger.LogInformation("API keys reloaded: {Count} keys", entries.Count);
            }

            Volatile.Write(ref _entries, entries);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogError(ex, "API keys not reloaded, the previous keys stay in use");
        }
        finally
        {
            _reloadGate.Exit();
        }
    }

    /// <summary>A known key: who it is, and the SHA-256 of the key.</summary>
    public sealed record Entry(ApiKeyIdentity Identity, byte[] Hash);
}
