using Microsoft.Extensions.Options;
using RecoCluster.Gateway;
using RecoCluster.Gateway.Routing;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Unit;

public sealed class SiloCircuitBreakerTests
{
    private const string Silo = "http://10.0.0.1:9090";
    private const string Other = "http://10.0.0.2:9090";
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.UnixEpoch);
    private readonly SiloCircuitBreaker _breaker;

    public SiloCircuitBreakerTests() =>
        _breaker = new SiloCircuitBreaker(Options.Create(new GatewayOptions { BreakerFailureThreshold = 3, BreakerBreakMs = 2_000 }), _clock);

    [Fact]
    public void It_opens_after_N_consecutive_failures_and_only_for_that_silo()
    {
        _breaker.OnFailure(Silo);
        _breaker.OnFailure(Silo);
        Assert.True(_breaker.AllowsRequest(Silo));

        _breaker.OnFailure(Silo);
        Assert.True(_breaker.IsOpen(Silo));
        Assert.True(_breaker.AllowsRequest(Other));
    }

    [Fact]
    public void A_success_resets_the_count()
    {
        _breaker.OnFailure(Silo);
        _breaker.OnFailure(Silo);
        _breaker.OnSuccess(Silo);
        _breaker.OnFailure(Silo);
        _breaker.OnFailure(Silo);

        Assert.True(_breaker.AllowsRequest(Silo));
    }

    [Fact]
    public void After_the_break_one_failure_reopens_it_and_one_success_closes_it()
    {
        for (var i = 0; i < 3; i++)
        {
            _breaker.OnFailure(Silo);
        }

        _clock.Advance(TimeSpan.FromMilliseconds(1_999));
        Assert.True(_breaker.IsOpen(Silo));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(_breaker.AllowsRequest(Silo)); // half-open: try it again

        _breaker.OnFailure(Silo);
        Assert.True(_breaker.IsOpen(Silo));

        _clock.Advance(TimeSpan.FromSeconds(2));
        _breaker.OnSuccess(Silo);
        _breaker.OnFailure(Silo);
        Assert.True(_breaker.AllowsRequest(Silo)); // closed again: one failure is not three
    }
}
