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
public sealed record RetailData(IReadOnlyList<RetailLine> Lines, int Rows, int NoCustomer, int Cancelled, int NotPositive, string Sha256);

/// <summary>
/// Reads the UCI Online Retail file (Chen, Sain and Guo 2012; CC BY 4.0; see
/// <c>shared/datasets/online-retail/README.md</c>): the gzipped CSV as published, with quoted descriptions that may
/// hold commas and doubled quotes.
/// </summary>
public static class RetailDataReader
{
    /// <summary>The sha256 of the .gz that the data set's README gives: the run records whether the file matches.</summary>
    public const string ExpectedSha256 = "8bea50fbad2e710fa69051f8ec2bd5f1ab083b7b8b4ff43a100341bbfd2c1924";

    private const string Header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

    /// <summary>Keeps rows with a customer, a positive quantity and an invoice that is not a cancellation ('C…'),
    /// then orders them by invoice date, stably, so lines of one date keep the file's order (an invoice's lines
    /// stay together and in the order the shop wrote them).</summary>
    public static RetailData Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        var header = reader.ReadLine();
        if (!string.Equals(header?.TrimEnd('\r'), Header, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: unexpected header '{header}'; expected '{Header}'");
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
            var at = DateTime.ParseExact(fields[4], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
            kept.Add(new RetailLine(
                Intern(customer.ToString(CultureInfo.InvariantCulture)),
                Intern(fields[0]),
                Intern(fields[1]),
                new DateTimeOffset(at, TimeSpan.Zero)));
        }

        // OrderBy is a stable sort: equal dates keep file order.
        var ordered = kept.OrderBy(l => l.At).ToList();
        return new RetailData(ordered, rows, noCustomer, cancelled, notPositive, sha);
    }

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
