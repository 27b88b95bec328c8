using System.Text.Json;

namespace RecoCluster.Bench;

/// <summary>How every macro benchmark ends: its tables on the console, its results file in the output folder.</summary>
public static class BenchOutput
{
    /// <summary>Prints <paramref name="markdown"/>, writes <paramref name="results"/> as
    /// <paramref name="output"/>/<paramref name="fileName"/> and says where; returns the exit code 0.</summary>
    public static async Task<int> WriteAsync<T>(string part, string output, string fileName, T results, JsonSerializerOptions json, string markdown)
    {
        Console.WriteLine();
        Console.WriteLine(markdown);
        Directory.CreateDirectory(output);
        var path = Path.Combine(output, fileName);
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(results, json));
        Console.WriteLine($"{part}: results in {path}");
        return 0;
    }
}
