namespace RecoCluster.Grains.Algorithms;

/// <summary>
/// The snapshot this silo serves and trains against. Replaced as a whole (one reference write) when a newer
/// complete version has been loaded, so every reader sees one version from start to end, and a version appears
/// only after every one of its parts was loaded.
/// </summary>
public sealed class SnapshotHolder
{
    private RecoSnapshot _current = RecoSnapshot.Empty;

    public RecoSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Installs <paramref name="snapshot"/> if it is newer than the current one.</summary>
    public bool TryInstall(RecoSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        while (true)
        {
            var current = Volatile.Read(ref _current);
            if (snapshot.Version <= current.Version)
            {
                return false;
            }

            if (ReferenceEquals(Interlocked.CompareExchange(ref _current, snapshot, current), current))
            {
                return true;
            }
        }
    }
}
