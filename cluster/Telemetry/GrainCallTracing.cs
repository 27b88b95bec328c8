using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>Grain-call spans for traced calls only (<see cref="OutgoingGrainCallTracing"/>,
/// <see cref="IncomingGrainCallTracing"/>), on the source Orleans' own filters use, so tracing configuration that
/// names it keeps working.</summary>
public static class GrainCallTracing
{
    /// <summary>Orleans' application grain-call source: the spans a storefront's trace shows inside the cluster.</summary>
    public static readonly ActivitySource Source = new(Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName);

    // W3C trace context, under the keys Orleans' own propagation uses in the request context.
    internal const string TraceParent = "traceparent";
    internal const string TraceState = "tracestate";

    /// <summary>Traces the silo's calls that belong to a trace, out and in.</summary>
    public static ISiloBuilder AddGrainCallTracing(this ISiloBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IOutgoingGrainCallFilter, OutgoingGrainCallTracing>();
        builder.Services.AddSingleton<IIncomingGrainCallFilter, IncomingGrainCallTracing>();
        return builder;
    }

    /// <summary>Traces a client's calls that belong to a trace (a gateway's requests).</summary>
    public static IClientBuilder AddGrainCallTracing(this IClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IOutgoingGrainCallFilter, OutgoingGrainCallTracing>();
        return builder;
    }

    internal static async Task RunAsync(IGrainCallContext context, Activity activity)
    {
        activity.SetTag("rpc.system", "orleans");
        activity.SetTag("rpc.service", context.InterfaceName);
        activity.SetTag("rpc.method", context.MethodName);
        try
        {
            await context.Invoke();
        }
        catch (Exception e)
        {
            activity.SetStatus(ActivityStatusCode.Error, e.Message);
            activity.AddException(e);
            throw;
        }
        finally
        {
            activity.Stop();
        }
    }
}
