using System.Diagnostics;
using System.Text;
using Confluent.Kafka;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>W3C trace context in Kafka record headers, so a trace crosses the log from producer to silo.</summary>
public static class TraceHeaders
{
    /// <summary>The header name, as the W3C Trace Context specification and Kafka instrumentations use it.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>Headers carrying the current span, or null when there is none (tracing off).</summary>
    public static Headers? FromCurrentActivity()
    {
        var current = Activity.Current;
        if (current is null || current.IdFormat != ActivityIdFormat.W3C || current.Id is null)
        {
            return null;
        }

        return new Headers { { TraceParent, Encoding.ASCII.GetBytes(current.Id) } };
    }
}
