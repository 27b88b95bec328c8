namespace RecoCluster.Silo.Runtime;

/// <summary>
/// Which grains of a partition may have a stored row, so that activating a grain that never had one costs no
/// database round trip. That is most activations on a cold start or a full replay: every new user and item.
/// </summary>
/// <remarks>
/// Loaded once when the worker takes the partition over, then grown as the worker creates grains. It may hold
/// keys without a row (an erased user): that only costs a lookup. It must never miss a key that has a row, and it
/// cannot: only the partition's owner writes the partition's grains (fencing), so after the load nothing else
/// adds a row. A partition with more than <see cref="MaxKeys"/> stored grains keeps no set (its memory would
/// rival the grains') and asks the database for every activation, as before.
/// </remarks>
internal sealed class StoredKeys(HashSet<string>? keys)
{
    /// <summary>Most keys kept per partition: about 50 MB of strings at most, for 1M users or items.</summary>
    public const int MaxKeys = 1_000_000;

    /// <summary>Whether <paramref name="key"/> may have a stored row (false: it certainly has none).</summary>
    public bool MayBeStored(string key) => keys is null || keys.Contains(key);

    /// <summary>Records a grain created in memory: its row will exist after the next checkpoint.</summary>
    public void Created(string key) => keys?.Add(key);
}
