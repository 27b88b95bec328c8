using System.Globalization;

namespace RecoCluster.Bench;

/// <summary>The <c>--name value</c> options of the macro benchmarks (ingest, queries, charts, report), and the
/// command line that reproduces a run, so every results file says how it was made.</summary>
public static class BenchArgs
{
    public static int Int(string[] args, string name, int fallback) =>
        String(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public static double Double(string[] args, string name, double fallback) =>
        String(args, name) is { } value ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public static string? String(string[] args, string name)
    {
        ArgumentNullException.ThrowIfNull(args);
        var i = Array.IndexOf(args, name);
        if (i < 0)
        {
            return null;
        }

        // A missing value is a typo, not a request for the default: say so instead of measuring something else.
        return i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"option {name} needs a value");
    }

    /// <summary>A comma-separated list (<c>--rates 500,2000</c>), or <paramref name="fallback"/>.</summary>
    public static IReadOnlyList<string> List(string[] args, string name, IReadOnlyList<string> fallback) =>
        String(args, name) is { } value
            ? value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : fallback;

    /// <summary>The <c>./reco</c> command that runs <paramref name="part"/> with exactly these settings.</summary>
    public static string Command(string part, IEnumerable<string> settings) =>
        string.Join(' ', new[] { "./reco", "bench", part }.Concat(settings.Select(Quote)));

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ',' or '/' or '=' or ':')
            ? arg
            : $"'{arg.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
