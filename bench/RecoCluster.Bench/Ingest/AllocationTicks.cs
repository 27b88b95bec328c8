using System.Diagnostics.Tracing;

namespace RecoCluster.Bench.Ingest;

/// <summary>
/// Counts the bytes this process allocates on the managed heap, from the allocation ticks the runtime raises about
/// every 100 KB a heap hands out, each carrying the amount since the last; a stretch's bytes are the ticks stamped
/// within it.
/// </summary>
/// <remarks>
/// Why not <see cref="GC.GetTotalAllocatedBytes"/>: with the server collector and DATAS, as `reco silo` and this
/// bench run, the runtime here (10.0.12) sums only the heaps active at the call, so the figure drops when DATAS
/// takes a heap away and jumps by that heap's whole history when it gives it back (fixed upstream by
/// dotnet/runtime#131069). Two readings can then differ by far more or far less than the stretch allocated
/// (docs/benchmarks.md, "Ingest", has the runs it spoiled and the two measures side by side). The ticks do not
/// depend on how many heaps are active; their sum is short by less than one tick per heap at each end of a stretch.
/// </remarks>
internal sealed class AllocationTicks : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";

    // The runtime's GC keyword; its allocation ticks are raised at the verbose level.
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly Lock _lock = new();
    private readonly List<(DateTime At, long Bytes)> _ticks = [];
    private DateTime _latest = DateTime.MinValue;

    /// <summary>The bytes allocated between two instants of <see cref="DateTime.UtcNow"/>, once the ticks up to
    /// <paramref name="toUtc"/> have arrived: the runtime hands events to listeners from a buffer, a fraction of a
    /// second late. Waits at most <paramref name="patience"/> for them (a process that has stopped allocating
    /// raises no later tick to show that the earlier ones are in).</summary>
    public async Task<long> AllocatedBetweenAsync(DateTime fromUtc, DateTime toUtc, TimeSpan patience)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (Latest < toUtc && waited.Elapsed < patience)
        {
            await Task.Delay(20);
        }

        lock (_lock)
        {
            long bytes = 0;
            foreach (var (at, amount) in _ticks)
            {
                if (at >= fromUtc && at <= toUtc)
                {
                    bytes += amount;
                }
            }

            return bytes;
        }
    }

    private DateTime Latest
    {
        get
        {
            lock (_lock)
            {
                return _latest;
            }
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        // Called from EventListener's constructor for the sources that already exist, and ticks can arrive from then
        // on: the fields they use are set by their initializers, which C# runs before the base constructor.
        if (eventSource.Name == RuntimeSource)
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.PayloadNames is not { } names)
        {
            return;
        }

        var index = names.IndexOf("AllocationAmount64");
        if (index < 0 || eventData.Payload?[index] is not ulong amount)
        {
            return;
        }

        var at = eventData.TimeStamp.ToUniversalTime();
        lock (_lock)
        {
            _ticks.Add((at, (long)amount));
            if (at > _latest)
            {
                _latest = at;
            }
        }
    }
}
