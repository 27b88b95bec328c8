using System.Diagnostics;

namespace RecoCluster.Bench.Queries;

/// <summary>
/// How loaded this process was while a cell ran: CPU used (in cores' worth, of all the cores there are) and the
/// longest thread-pool queue seen. Everything under test shares this process and its thread pool, so when the
/// ceiling itself gets slow these two say whether the machine or the pool was the limit.
/// </summary>
public sealed class ProcessLoad : IDisposable
{
    private readonly Process _process = Process.GetCurrentProcess();
    private readonly Timer _timer;
    private readonly TimeSpan _cpuAtStart;
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private long _maxQueue;

    private ProcessLoad()
    {
        _cpuAtStart = _process.TotalProcessorTime;
        _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(50));
    }

    public static ProcessLoad Start() => new();

    /// <summary>CPU time used per second of wall time, as a percentage of all cores (100 = every core busy).</summary>
    public double CpuPercent()
    {
        _process.Refresh();
        var cpu = (_process.TotalProcessorTime - _cpuAtStart).TotalSeconds;
        var wall = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
        return wall > 0 ? Math.Round(100 * cpu / wall / Environment.ProcessorCount, 1) : 0;
    }

    public long MaxThreadPoolQueue => Interlocked.Read(ref _maxQueue);

    public void Dispose()
    {
        _timer.Dispose();
        _process.Dispose();
    }

    private void Sample()
    {
        var queued = ThreadPool.PendingWorkItemCount;
        long seen;
        while (queued > (seen = Interlocked.Read(ref _maxQueue)) && Interlocked.CompareExchange(ref _maxQueue, queued, seen) != seen)
        {
        }
    }
}
