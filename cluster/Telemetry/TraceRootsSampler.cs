using OpenTelemetry.Trace;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>
/// Lets a trace start only where a piece of work starts: an HTTP request served or sent, or one of the project's
/// own spans (an ingress batch). Everything else, grain calls among them, joins the trace it runs in (OpenTelemetry's
/// parent-based rule) and never starts one of its own.
/// </summary>
/// <remarks>
/// Why: an ingress applies a batch with thousands of grain calls on a timer, outside any request. With the default
/// sampler each of those calls would be a trace of its own, and tracing would cost more than the work it watches.
/// The sampler sees a span's operation name, not its source, so the roots are named: ASP.NET Core's and
/// HttpClient's fixed operation names, and the "reco." prefix of ours.
/// </remarks>
public sealed class TraceRootsSampler : Sampler
{
    private static readonly Sampler Children = new ParentBasedSampler(new AlwaysOffSampler());

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        if (samplingParameters.ParentContext.TraceId != default)
        {
            return Children.ShouldSample(samplingParameters);
        }

        var name = samplingParameters.Name;
        var root = name is "Microsoft.AspNetCore.Hosting.HttpRequestIn" or "System.Net.Http.HttpRequestOut"
            || name.StartsWith("reco.", StringComparison.Ordinal);
        return new SamplingResult(root ? SamplingDecision.RecordAndSample : SamplingDecision.Drop);
    }
}
