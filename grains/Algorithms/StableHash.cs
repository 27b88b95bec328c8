namespace RecoCluster.Grains.Algorithms;

/// <summary>
/// Hashes that are the same in every process and every run (<see cref="string.GetHashCode()"/> is randomized per
/// process). The factor model draws its initial vectors and its negative samples from them, so a replay of the
/// same log makes the same choices on any silo.
/// </summary>
public static class StableHash
{
    /// <summary>FNV-1a over the UTF-16 code units of <paramref name="text"/>, mixed with <paramref name="salt"/>.</summary>
    public static ulong Of(string text, ulong salt = 0)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = 14695981039346656037UL ^ Mix(salt);
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return Mix(hash);
    }

    /// <summary>SplitMix64's finalizer: spreads every input bit over the whole output.</summary>
    public static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9UL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebUL;
        x ^= x >> 31;
        return x;
    }

    /// <summary>A uniform value in [-0.5, 0.5) from a hash.</summary>
    public static float Centered(ulong hash) => (float)((hash >> 40) / (double)(1UL << 24)) - 0.5f;
}
