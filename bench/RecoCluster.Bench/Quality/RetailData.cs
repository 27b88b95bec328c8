using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace RecoCluster.Bench.Quality;

/// <summary>One kept line of the data set: a purchase of one stock code on one invoice by one customer.</summary>
/// <param name="UserId">The customer id as an integer string ("17850", not the file's "17850.0").</param>
/// <param name="Invoice">The invoice number: one invoice is one basket.</param>
/// <param name="ItemId">The stock code.</param>
/// <param name="At">The invoice date, read as UTC.</param>
public sealed record RetailLine(string UserId, string Invoice, string ItemId, DateTimeOffset At);

/// <summary>The lines kept from the file, in replay order, and what was dropped.</summary>
/// <param name="Lines">The kept lines in replay order.</param>
/// <param name="Rows">The file's data rows.</param>
/// <param name="NoCustomer">Rows dropped for having no customer (0 in a purchases file, which holds none).</param>
/// <param name="Cancelled">Rows dropped as cancellations (0 in a purchases file).</param>
/// <param name="NotPositive">Other rows dropped for a quantity ≤ 0 (0 in a purchases file).</param>
/// <param name="Sha256">The sha256 of the file as read.</param>
/// <param name="Format">Which of the two formats the file is in (<see cref="RetailDataReader"/>).</param>
public sealed record RetailData(IReadOnlyList<RetailLine> Lines, int Rows, int NoCustomer, int Cancelled, int NotPositive, string Sha256, RetailFileFormat Format);

/// <summary>The two files the quality bench reads.</summary>
public enum RetailFileFormat
{
    /// <summary>The gzipped CSV as published, all eight columns and every row.</summary>
    Published,

    /// <summary>The purchases file the project ships (<c>bench/data/</c>): the kept rows only, in replay order,
    /// with the four columns the replay reads and the customer id as an integer. Written by
    /// <see cref="RetailDataReader.WritePurchases"/>; it replays to the same lines as the published file.</summary>
    Purchases,
}

/// <summary>
/// Reads the UCI Online Retail file (Chen, Sain and Guo 2012; CC BY 4.0; see <c>bench/data/README.md</c>): either
/// the gzipped CSV as published, with quoted descriptions that may hold commas and doubled quotes, or the trimmed
/// purchases file the project ships, which this class also writes.
/// </summary>
public static class RetailDataReader
{
    /// <summary>The sha256 of the published .gz that the data set's README gives: the run records whether the file
    /// matches.</summary>
    public const string ExpectedSha256 = "8bea50fbad2e710fa69051f8ec2bd5f1ab083b7b8b4ff43a100341bbfd2c1924";

    /// <summary>The sha256 of the purchases file as committed in <c>bench/data/</c>.</summary>
    public const string ExpectedPurchasesSha256 = "0886f5adb3fc53cd8edb2c12144aa09dd27ad1522fa4dbc57208f974724f89dc";

    private const string Header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
    private const string PurchasesHeader = "InvoiceNo,StockCode,InvoiceDate,CustomerID";
    private const string DateFormat = "yyyy-MM-dd HH:mm:ss";

    /// <summary>Whether <paramref name="data"/>'s file is the one its format's README names.</summary>
    public static bool ShaMatches(RetailData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var expected = data.Format == RetailFileFormat.Published ? ExpectedSha256 : ExpectedPurchasesSha256;
        return string.Equals(data.Sha256, expected, StringComparison.Ordinal);
    }

    /// <summary>Keeps rows with a customer, a positive quantity and an invoice that is not a cancellation ('C…'),
    /// then orders them by invoice date, stably, so lines of one date keep the file's order (an invoice's lines
    /// stay together and in the order the shop wrote them).</summary>
    public static RetailData Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        var header = reader.ReadLine()?.TrimEnd('\r');
        if (string.Equals(header, PurchasesHeader, StringComparison.Ordinal))
        {
            return LoadPurchases(path, reader, sha);
        }

        if (!string.Equals(header, Header, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: unexpected header '{header}'; expected '{Header}' (the published file) or '{PurchasesHeader}' (the purchases file)");
        }

        // Strings repeat heavily (4k stock codes, 4k customers, 26k invoices over 400k lines): interning them
        // keeps the replay's dictionaries keyed by a few thousand instances.
        var pool = new Dictionary<string, string>(StringComparer.Ordinal);
        string Intern(string s) => pool.TryGetValue(s, out var v) ? v : pool[s] = s;

        var kept = new List<RetailLine>(400_000);
        int rows = 0, noCustomer = 0, cancelled = 0, notPositive = 0;
        var fields = new List<string>(8);
        while (reader.ReadLine() is { } line)
        {
            rows++;
            Split(line, fields);
            if (fields.Count != 8)
            {
                throw new InvalidDataException($"{path}: row {rows} has {fields.Count} fields: {line}");
            }

            if (fields[6].Length == 0)
            {
                noCustomer++;
                continue;
            }

            if (fields[0].StartsWith('C'))
            {
                cancelled++;
                continue;
            }

            if (int.Parse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture) <= 0)
            {
                notPositive++;
                continue;
            }

            var customer = (long)decimal.Parse(fields[6], NumberStyles.Number, CultureInfo.InvariantCulture);
            kept.Add(new RetailLine(
                Intern(customer.ToString(CultureInfo.InvariantCulture)),
                Intern(fields[0]),
                Intern(fields[1]),
                ParseDate(fields[4])));
        }

        // OrderBy is a stable sort: equal dates keep file order.
        var ordered = kept.OrderBy(l => l.At).ToList();
        return new RetailData(ordered, rows, noCustomer, cancelled, notPositive, sha, RetailFileFormat.Published);
    }

    /// <summary>Writes <paramref name="data"/>'s kept lines as a purchases file: replay order, four columns,
    /// gzip. Read back, it gives the same lines in the same order (its dates are already sorted, and the sort is
    /// stable).</summary>
    public static void WritePurchases(RetailData data, string path)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.SmallestSize);
        using var writer = new StreamWriter(gz, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" };
        writer.WriteLine(PurchasesHeader);
        foreach (var l in data.Lines)
        {
            writer.Write(Quote(l.Invoice));
            writer.Write(',');
            writer.Write(Quote(l.ItemId));
            writer.Write(',');
            writer.Write(l.At.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture));
            writer.Write(',');
            writer.WriteLine(l.UserId);
        }
    }

    private static RetailData LoadPurchases(string path, StreamReader reader, string sha)
    {
        var pool = new Dictionary<string, string>(StringComparer.Ordinal);
        string Intern(string s) => pool.TryGetValue(s, out var v) ? v : pool[s] = s;

        var kept = new List<RetailLine>(400_000);
        var fields = new List<string>(4);
        while (reader.ReadLine() is { } line)
        {
            Split(line, fields);
            if (fields.Count != 4 || !long.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw new InvalidDataException($"{path}: row {kept.Count + 1} is not 'invoice,stock code,date,customer': {line}");
            }

            kept.Add(new RetailLine(Intern(fields[3]), Intern(fields[0]), Intern(fields[1]), ParseDate(fields[2])));
        }

        // Written in replay order already; sorting again (stably) keeps a hand-edited file honest.
        var ordered = kept.OrderBy(l => l.At).ToList();
        return new RetailData(ordered, kept.Count, 0, 0, 0, sha, RetailFileFormat.Purchases);
    }

    private static DateTimeOffset ParseDate(string s) => new(
        DateTime.ParseExact(s, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
        TimeSpan.Zero);

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(',', '"') < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    // RFC 4180 fields on one line: quoted fields may hold commas and "" for a quote. (No field of this file
    // spans lines.)
    private static void Split(string line, List<string> into)
    {
        into.Clear();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                into.Add(field.ToString());
                field.Clear();
            }
            else if (c != '\r')
            {
                field.Append(c);
            }
        }

        into.Add(field.ToString());
    }
}
