namespace RecoCluster.Tests.Infrastructure;

/// <summary>Prometheus's own linter, from Debian's prometheus package (<c>./reco test</c> installs it).</summary>
public static class Promtool
{
    /// <summary>Runs <c>promtool check metrics</c> on an exposition; fails the test with promtool's complaints.</summary>
    public static async Task CheckMetricsAsync(string exposition, string what)
    {
        (int ExitCode, string StdOut, string StdErr) result;
        try
        {
            result = await ChildProcess.RunAsync("promtool", ["check", "metrics"], stdin: exposition);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("promtool is not installed; './reco test' installs Debian's prometheus package, which has it", ex);
        }

        Assert.True(result.ExitCode == 0, $"promtool check metrics failed on {what} (exit {result.ExitCode}):\n{result.StdOut}{result.StdErr}");
    }

    /// <summary>The samples of one series family: every line whose name is exactly <paramref name="name"/>,
    /// as (labels, value).</summary>
    public static List<(string Labels, double Value)> Samples(string exposition, string name)
    {
        var samples = new List<(string, double)>();
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = line[name.Length..];
            string labels;
            if (rest.StartsWith('{'))
            {
                var close = rest.LastIndexOf('}');
                labels = rest[1..close];
                rest = rest[(close + 1)..];
            }
            else
            {
                labels = string.Empty;
            }

            if (!rest.StartsWith(' '))
            {
                continue; // a longer name that starts with this one
            }

            samples.Add((labels, double.Parse(rest.Trim(), System.Globalization.CultureInfo.InvariantCulture)));
        }

        return samples;
    }
}
