namespace RecoCluster.Bench.Quality;

/// <summary>
/// <c>quality-data --from PUBLISHED.csv.gz --to PURCHASES.csv.gz</c>: writes the purchases file the project ships
/// (<c>bench/data/</c>) from the published UCI Online Retail file, and checks that it reads back to the same lines.
/// This is how the shipped file was made; it is not part of the suite.
/// </summary>
public static class QualityDataRun
{
    /// <summary>Runs it; exit code 0 when the written file replays to the published file's lines.</summary>
    public static Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var from = BenchArgs.String(args, "--from");
        var to = BenchArgs.String(args, "--to");
        if (from is null || to is null)
        {
            Console.Error.WriteLine("quality-data: usage: quality-data --from PUBLISHED.csv.gz --to PURCHASES.csv.gz");
            return Task.FromResult(2);
        }

        var published = RetailDataReader.Load(from);
        if (published.Format != RetailFileFormat.Published)
        {
            throw new ArgumentException($"quality-data: {from} is not the published file");
        }

        RetailDataReader.WritePurchases(published, to);
        var back = RetailDataReader.Load(to);
        var same = back.Lines.Count == published.Lines.Count && back.Lines.SequenceEqual(published.Lines);
        Console.WriteLine($"quality-data: {published.Lines.Count:N0} purchases of {published.Rows:N0} rows (published file sha256 {(RetailDataReader.ShaMatches(published) ? "matches" : "DIFFERS: " + published.Sha256)}) written to {to}: {new FileInfo(to).Length:N0} bytes, sha256 {back.Sha256}; reads back to {(same ? "the same lines" : "DIFFERENT lines")}");
        return Task.FromResult(same ? 0 : 1);
    }
}
