using System.Globalization;

namespace RecoCluster.Bench;

/// <summary>Culture-invariant text for results files, commands and tables: figures must read the same whatever
/// the machine's locale. Imported with <c>using static</c> where tables and commands are built.</summary>
public static class BenchText
{
    public static string I(FormattableString text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.ToString(CultureInfo.InvariantCulture);
    }

    public static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}
