using System.Diagnostics;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>Continues, in the called grain, the trace an <see cref="OutgoingGrainCallTracing"/> call carries: a server
/// span under the caller's. A call that carries no trace context gets no span (see
/// <see cref="OutgoingGrainCallTracing"/> for why).</summary>
internal sealed class IncomingGrainCallTracing : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (RequestContext.Get(GrainCallTracing.TraceParent) is not string parent
            || !ActivityContext.TryParse(parent, RequestContext.Get(GrainCallTracing.TraceState) as string, isRemote: true, out var parentContext))
        {
            return context.Invoke();
        }

        var activity = GrainCallTracing.Source.StartActivity($"{context.InterfaceName}/{context.MethodName}", ActivityKind.Server, parentContext);
        return activity is null ? context.Invoke() : GrainCallTracing.RunAsync(context, activity);
    }
}
