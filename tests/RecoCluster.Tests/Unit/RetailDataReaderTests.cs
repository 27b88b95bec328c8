using System.IO.Compression;
using System.Text;
using RecoCluster.Bench.Quality;

namespace RecoCluster.Tests.Unit;

/// <summary>The quality bench's reader of UCI Online Retail: the published file's rules (which rows are kept, in
/// which order) and the purchases file the project ships, which must replay to exactly the same lines.</summary>
public sealed class RetailDataReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reco-retail-").FullName;

    // Rows shaped as the published file writes them: quoted descriptions with commas and doubled quotes, float
    // customer ids, a guest checkout, a cancellation, a return, and two invoices written out of date order.
    private const string Published = """
        InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
        536366,22633,"HAND WARMER, UNION JACK",6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom
        536365,85123A,"WHITE ""HANGING"" HEART",6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
        536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
        536367,84879,ASSORTED BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,,United Kingdom
        C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom
        536380,22961,JAM MAKING SET PRINTED,-24,2010-12-01 09:41:00,1.45,17809.0,United Kingdom
        536381,"22,139","TEST, ""QUOTED"" CODE",1,2010-12-01 09:45:00,4.95,15311.0,United Kingdom
        """;

    [Fact]
    public void The_published_file_keeps_customers_purchases_in_date_order_and_counts_what_it_drops()
    {
        var data = RetailDataReader.Load(Write("published.csv.gz", Published));

        Assert.Equal(RetailFileFormat.Published, data.Format);
        Assert.Equal((7, 1, 1, 1), (data.Rows, data.NoCustomer, data.Cancelled, data.NotPositive));
        Assert.Equal(
            [("17850", "536365", "85123A"), ("17850", "536365", "71053"), ("17850", "536366", "22633"), ("15311", "536381", "22,139")],
            data.Lines.Select(l => (l.UserId, l.Invoice, l.ItemId)));
        Assert.Equal(new DateTimeOffset(2010, 12, 1, 8, 26, 0, TimeSpan.Zero), data.Lines[0].At);
        Assert.False(RetailDataReader.ShaMatches(data));
    }

    [Fact]
    public void A_purchases_file_written_from_the_published_one_reads_back_to_the_same_lines()
    {
        var published = RetailDataReader.Load(Write("published.csv.gz", Published));
        var path = Path.Combine(_dir, "purchases.csv.gz");

        RetailDataReader.WritePurchases(published, path);
        var back = RetailDataReader.Load(path);

        Assert.Equal(RetailFileFormat.Purchases, back.Format);
        Assert.Equal(published.Lines, back.Lines);
        Assert.Equal((4, 0, 0, 0), (back.Rows, back.NoCustomer, back.Cancelled, back.NotPositive));
    }

    [Fact]
    public void Any_other_header_is_refused_naming_both_formats()
    {
        var path = Write("other.csv.gz", "a,b,c\n1,2,3\n");

        var error = Assert.Throws<InvalidDataException>(() => RetailDataReader.Load(path));

        Assert.Contains("unexpected header 'a,b,c'", error.Message, StringComparison.Ordinal);
        Assert.Contains("InvoiceNo,StockCode,InvoiceDate,CustomerID", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string csv)
    {
        var path = Path.Combine(_dir, name);
        using var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(csv.ReplaceLineEndings("\n") + "\n"));
        return path;
    }
}
