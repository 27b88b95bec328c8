using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RecoCluster.Gateway.Security;
using RecoCluster.Host;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

/// <summary>API keys from configuration and a keys directory, who a request is, and the start-up rules that keep a
/// gateway from running open by mistake.</summary>
public sealed class ApiKeysTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reco-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Keys_from_configuration_and_files_are_found_with_their_scope_and_nothing_else_is()
    {
        File.WriteAllText(Path.Combine(_dir, "read-storefront-2026"), "file-read-key-0123456789\n");
        File.WriteAllText(Path.Combine(_dir, "admin-sre"), "file-admin-key-0123456789");
        File.WriteAllText(Path.Combine(_dir, "..data"), "ignored: Kubernetes bookkeeping");
        var keys = Keys(new GatewayAuthOptions { IngestKeys = ["config-ingest-key-0", "config-ingest-key-1"], KeysDirectory = _dir });

        Assert.Equal(4, keys.Count);
        Assert.Equal(new ApiKeyIdentity("read-storefront-2026", ApiScope.Read), keys.Find("file-read-key-0123456789"));
        Assert.Equal(new ApiKeyIdentity("admin-sre", ApiScope.Admin), keys.Find("file-admin-key-0123456789"));
        Assert.Equal(new ApiKeyIdentity("ingest#1", ApiScope.Ingest), keys.Find("config-ingest-key-1"));
        Assert.Null(keys.Find("config-ingest-key-2"));
        Assert.Null(keys.Find("file-read-key-012345678"));
        Assert.Null(keys.Find(string.Empty));
    }

    [Fact]
    public void Bad_keys_and_badly_named_files_are_reported_without_printing_any_key()
    {
        File.WriteAllText(Path.Combine(_dir, "writer-x"), "some-writer-key-0123456789");
        File.WriteAllText(Path.Combine(_dir, "read-"), "some-other-key-0123456789");
        var (_, errors) = ApiKeys.Load(new GatewayAuthOptions
        {
            ReadKeys = ["short", "duplicated-key-0123456789"],
            AdminKeys = ["duplicated-key-0123456789", "has a space in it 0123456789"],
            KeysDirectory = _dir,
        });

        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Reco:Gateway:Auth:ReadKeys:0: an API key must be at least 16", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Reco:Gateway:Auth:AdminKeys:0: the same key is also given as read#1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Reco:Gateway:Auth:AdminKeys:1", StringComparison.Ordinal));
        Assert.Equal(2, errors.Count(e => e.Contains("must be named <scope>-<name>", StringComparison.Ordinal)));
        Assert.DoesNotContain(errors, e => e.Contains("duplicated-key-0123456789", StringComparison.Ordinal) || e.Contains("short", StringComparison.Ordinal));
    }

    [Fact]
    public void A_rotated_key_file_takes_effect_without_a_restart()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        File.WriteAllText(Path.Combine(_dir, "read-old"), "old-read-key-0123456789");
        var keys = new ApiKeys(Options.Create(new GatewayAuthOptions { KeysDirectory = _dir, KeysReloadSeconds = 30 }), clock, NullLogger<ApiKeys>.Instance);
        Assert.NotNull(keys.Find("old-read-key-0123456789"));

        File.WriteAllText(Path.Combine(_dir, "read-new"), "new-read-key-0123456789");
        File.Delete(Path.Combine(_dir, "read-old"));
        Assert.Null(keys.Find("new-read-key-0123456789")); // not re-read yet

        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.NotNull(keys.Find("new-read-key-0123456789"));
        Assert.Null(keys.Find("old-read-key-0123456789"));
    }

    [Fact]
    public void A_key_decides_who_the_caller_is_and_without_one_only_loopback_is_anonymous_and_only_when_allowed()
    {
        var keys = Keys(new GatewayAuthOptions { ReadKeys = [TestKeys.Read] });
        var outside = IPAddress.Parse("10.1.2.3");

        Assert.Equal(new AccessDecision(new ApiKeyIdentity("read#0", ApiScope.Read), AccessFailure.None), GatewayAccess.Resolve(keys, TestKeys.Read, outside, false));
        Assert.Equal(AccessFailure.UnknownKey, GatewayAccess.Resolve(keys, "wrong-key-0123456789", IPAddress.Loopback, true).Failure);
        Assert.Equal(AccessFailure.NoKey, GatewayAccess.Resolve(keys, null, IPAddress.Loopback, false).Failure);
        Assert.Equal(GatewayAccess.AnonymousLoopback, GatewayAccess.Resolve(keys, null, IPAddress.Loopback, true).Identity);
        Assert.Equal(GatewayAccess.AnonymousLoopback, GatewayAccess.Resolve(keys, null, IPAddress.IPv6Loopback, true).Identity);
        Assert.Equal(GatewayAccess.AnonymousLoopback, GatewayAccess.Resolve(keys, null, IPAddress.Loopback.MapToIPv6(), true).Identity);
        Assert.Equal(AccessFailure.AnonymousNotLoopback, GatewayAccess.Resolve(keys, null, outside, true).Failure);
        Assert.Equal(AccessFailure.AnonymousNotLoopback, GatewayAccess.Resolve(keys, null, null, true).Failure);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("http://[::1]:0", true)]
    [InlineData("http://127.0.0.2:80", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://+:80", false)]
    [InlineData("http://*:80", false)]
    [InlineData("http://[::]:80", false)]
    [InlineData("http://10.0.0.5:8080", false)]
    [InlineData("http://gateway.example:8080", false)]
    public void Loopback_bindings_are_recognised(string url, bool loopback) =>
        Assert.Equal(loopback, GatewayAuthOptionsValidator.IsLoopbackUrl(url));

    [Fact]
    public void A_gateway_without_keys_refuses_to_start_and_says_how_to_configure_them()
    {
        var config = GatewayConfig();
        config.Remove("Reco:Gateway:Auth:ReadKeys:0");
        config.Remove("Reco:Gateway:Auth:IngestKeys:0");
        config.Remove("Reco:Gateway:Auth:AdminKeys:0");

        var error = Assert.Throws<OptionsValidationException>(() => ClusterHosts.BuildGateway([], config));

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith("Reco:Gateway:Auth has no API keys", failure, StringComparison.Ordinal);
        Assert.Contains("Reco__Gateway__Auth__AdminKeys__0", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Anonymous_access_on_a_non_loopback_address_refuses_to_start()
    {
        var config = GatewayConfig();
        config["Reco:Gateway:Auth:AllowAnonymousOnLoopback"] = "true";
        config["urls"] = "http://0.0.0.0:0";

        var error = Assert.Throws<OptionsValidationException>(() => ClusterHosts.BuildGateway([], config));

        Assert.StartsWith("Reco:Gateway:Auth:AllowAnonymousOnLoopback is on, but the gateway listens on 'http://0.0.0.0:0'", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> GatewayConfig()
    {
        var config = TestKeys.Config();
        config["Reco:Kafka:BootstrapServers"] = "127.0.0.1:1";
        config["urls"] = "http://127.0.0.1:0";
        return config;
    }

    private static ApiKeys Keys(GatewayAuthOptions options) =>
        new(Options.Create(options), TimeProvider.System, NullLogger<ApiKeys>.Instance);
}
