using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace RecoCluster.Cluster.Telemetry;

/// <summary>
/// Renders OpenTelemetry metrics in the Prometheus text exposition format (version 0.0.4). No Prometheus exporter
/// package is released for the SDK version we use (only a beta), and the format is small, so it is written here,
/// following the OpenTelemetry-to-Prometheus compatibility rules that matter for our instruments.
/// </summary>
/// <remarks>
/// Names: characters outside [a-zA-Z0-9_:] become '_'; the unit "s" adds "_seconds" and "By" adds "_bytes"
/// (annotations such as "{record}" add nothing); monotonic sums add "_total". Label keys are sanitized the same
/// way and values escaped. Histograms get cumulative "_bucket" series with "le", then "_sum" and "_count".
/// Each family is written once, with its HELP and TYPE, even when several scopes report into it.
/// </remarks>
public static class PrometheusText
{
    /// <summary>The content type of the exposition.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Appends every metric of <paramref name="metrics"/> to <paramref name="output"/>.</summary>
    public static void Write(IEnumerable<Metric> metrics, StringBuilder output)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(output);
        // Samples are grouped per family: the format wants a family's lines together, and two meters may report
        // into one family (several hosts in one process, as in tests).
        var families = new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var metric in metrics)
        {
            var type = TypeOf(metric.MetricType);
            if (type is null)
            {
                continue; // exponential histograms: none of our instruments use them
            }

            var name = FamilyName(metric.Name, metric.Unit, type == "counter");
            if (!families.TryGetValue(name, out var family))
            {
                family = new StringBuilder();
                family.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(metric.Description)).Append('\n');
                family.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
                families[name] = family;
                order.Add(name);
            }

            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var labels = Labels(point.Tags);
                switch (metric.MetricType)
                {
                    case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                        Sample(family, name, labels, null, point.GetSumLong());
                        break;
                    case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                        Sample(family, name, labels, null, point.GetSumDouble());
                        break;
                    case MetricType.LongGauge:
                        Sample(family, name, labels, null, point.GetGaugeLastValueLong());
                        break;
                    case MetricType.DoubleGauge:
                        Sample(family, name, labels, null, point.GetGaugeLastValueDouble());
                        break;
                    case MetricType.Histogram:
                        WriteHistogram(family, name, labels, point);
                        break;
                }
            }
        }

        foreach (var name in order)
        {
            output.Append(families[name]);
        }
    }

    /// <summary>The Prometheus family name of an instrument.</summary>
    public static string FamilyName(string instrument, string? unit, bool monotonicSum)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        var name = new StringBuilder(Sanitize(instrument));
        var suffix = unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => string.Empty,
        };
        if (suffix.Length > 0 && !name.ToString().EndsWith(suffix, StringComparison.Ordinal))
        {
            name.Append(suffix);
        }

        if (monotonicSum && !name.ToString().EndsWith("_total", StringComparison.Ordinal))
        {
            name.Append("_total");
        }

        return name.ToString();
    }

    private static string? TypeOf(MetricType type) => type switch
    {
        MetricType.LongSum or MetricType.DoubleSum => "counter",
        MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic or MetricType.LongGauge or MetricType.DoubleGauge => "gauge",
        MetricType.Histogram => "histogram",
        _ => null,
    };

    private static void WriteHistogram(StringBuilder output, string name, string labels, in MetricPoint point)
    {
        long cumulative = 0;
        foreach (var bucket in point.GetHistogramBuckets())
        {
            cumulative += bucket.BucketCount;
            var le = double.IsPositiveInfinity(bucket.ExplicitBound) ? "+Inf" : Number(bucket.ExplicitBound);
            Sample(output, name + "_bucket", labels, le, cumulative);
        }

        Sample(output, name + "_sum", labels, null, point.GetHistogramSum());
        Sample(output, name + "_count", labels, null, point.GetHistogramCount());
    }

    private static void Sample(StringBuilder output, string name, string labels, string? le, double value)
    {
        output.Append(name);
        if (labels.Length > 0 || le is not null)
        {
            output.Append('{').Append(labels);
            if (le is not null)
            {
                output.Append(labels.Length > 0 ? "," : string.Empty).Append("le=\"").Append(le).Append('"');
            }

            output.Append('}');
        }

        output.Append(' ').Append(Number(value)).Append('\n');
    }

    private static string Labels(ReadOnlyTagCollection tags)
    {
        if (tags.Count == 0)
        {
            return string.Empty;
        }

        var pairs = new List<KeyValuePair<string, string>>(tags.Count);
        foreach (var tag in tags)
        {
            pairs.Add(new(Sanitize(tag.Key), Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty));
        }

        // Stable order, so one series always prints the same way.
        pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            text.Append(text.Length > 0 ? "," : string.Empty).Append(key).Append("=\"").Append(EscapeLabel(value)).Append('"');
        }

        return text.ToString();
    }

    private static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString(CultureInfo.InvariantCulture), // shortest form that round-trips
    };

    private static string Sanitize(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or ':' || (i > 0 && c is >= '0' and <= '9');
            if (!ok)
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }

    private static string EscapeHelp(string? text) =>
        string.IsNullOrEmpty(text) ? "(no description)" : text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeLabel(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
