namespace RecoCluster.Tests.Infrastructure;

/// <summary>Files of the checkout the tests were built from (the shipped assets they check).</summary>
public static class RepoPaths
{
    /// <summary>The folder holding RecoCluster.sln, found upwards from the test assembly.</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RecoCluster.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new DirectoryNotFoundException($"no RecoCluster.sln above {AppContext.BaseDirectory}");
        }
    }

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);
}
