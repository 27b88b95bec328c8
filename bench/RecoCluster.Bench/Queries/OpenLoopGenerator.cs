using System.Diagnostics;

namespace RecoCluster.Bench.Queries;

/// <summary>
/// An open-loop load generator. At rate R, request k is due at t0 + k/R and is sent then, whether or not earlier
/// requests have been answered; its latency runs from that due time to the end of its answer. So when the server
/// stalls, the requests that should have gone out during the stall still count the whole wait, which a closed
/// loop (send, wait, send) hides by sending less ("coordinated omission").
/// </summary>
/// <remarks>
/// One scheduler thread sends every request itself: it sleeps while the next one is more than 2 ms away and
/// yields/spins closer in, so a request leaves within microseconds of its due time unless the machine is
/// saturated. How late each one left is recorded too (<see cref="CellMeasurement.SendLagP99Ms"/>): when that grows,
/// the generator itself is short of CPU, and the latencies include that delay (they run from the due time).
/// </remarks>
public sealed class OpenLoopGenerator(HttpClient http)
{
    private static readonly long TwoMs = Stopwatch.Frequency / 500;
    private static readonly long OneMs = Stopwatch.Frequency / 1000;

    /// <summary>Sends <paramref name="kind"/> at <paramref name="rate"/> requests/s for <paramref name="duration"/>,
    /// then waits for every answer (each ends by the client's timeout at the latest).</summary>
    public async Task<CellMeasurement> RunAsync(RequestKind kind, int rate, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        var total = (int)Math.Round(rate * duration.TotalSeconds);
        var cell = new Cell(total);
        using var load = ProcessLoad.Start();
        // A short lead so the first due time is not already past when the thread starts.
        var t0 = Stopwatch.GetTimestamp() + (10 * OneMs);
        var ticksPerRequest = (double)Stopwatch.Frequency / rate;
        var allSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var scheduler = new Thread(() =>
        {
            Schedule(cell, kind, t0, ticksPerRequest);
            allSent.SetResult();
        })
        {
            IsBackground = true,
            Name = $"open-loop {kind.Name}",
        };
        scheduler.Start();
        await allSent.Task;

        // Every request ends by the client's timeout at the latest; the slack covers a saturated machine.
        var patience = http.Timeout + TimeSpan.FromSeconds(5);
        // Whatever is still unanswered after that is counted as such.
        await Task.WhenAny(cell.AllAnswered.Task, Task.Delay(patience));
        return cell.Measure(kind.Name, rate, t0, ticksPerRequest, duration) with { CpuPercent = load.CpuPercent(), MaxThreadPoolQueue = load.MaxThreadPoolQueue };
    }

    private void Schedule(Cell cell, RequestKind kind, long t0, double ticksPerRequest)
    {
        for (var k = 0; k < cell.Total; k++)
        {
            var due = t0 + (long)(k * ticksPerRequest);
            while (true)
            {
                var wait = due - Stopwatch.GetTimestamp();
                if (wait <= 0)
                {
                    break;
                }

                if (wait > TwoMs)
                {
                    // Thread.Sleep overshoots by up to a millisecond or so: wake a millisecond early.
                    Thread.Sleep((int)((wait - OneMs) / OneMs));
                }
                else if (!Thread.Yield())
                {
                    // Nothing else wants this core: spin briefly instead of returning to the kernel at once.
                    Thread.SpinWait(20);
                }
            }

            cell.SendLag[k] = Stopwatch.GetTimestamp() - due;
            _ = SendAsync(cell, k, due, kind.Next());
        }
    }

    private async Task SendAsync(Cell cell, int k, long due, HttpRequestMessage request)
    {
        try
        {
            // ResponseContentRead (the default): done means the whole body has arrived.
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            cell.Answer(k, due, (int)response.StatusCode);
        }
        catch (TaskCanceledException)
        {
            // Only HttpClient.Timeout cancels these requests.
            cell.Answer(k, due, Cell.Timeout);
        }
        catch (HttpRequestException)
        {
            cell.Answer(k, due, Cell.Failed);
        }
        finally
        {
            request.Dispose();
        }
    }

    /// <summary>The requests of one kind at one rate: written by the scheduler and the answers, each slot by
    /// one writer; read once every answer is in.</summary>
    private sealed class Cell(int total)
    {
        public const int Timeout = -1;
        public const int Failed = -2;

        private readonly long[] _latency = new long[total];
        private readonly int[] _status = new int[total];
        private int _answered;

        public int Total { get; } = total;

        public long[] SendLag { get; } = new long[total];

        public TaskCompletionSource AllAnswered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Answer(int k, long due, int status)
        {
            var now = Stopwatch.GetTimestamp();
            _latency[k] = now - due;
            _status[k] = status;
            if (Interlocked.Increment(ref _answered) == Total)
            {
                AllAnswered.TrySetResult();
            }
        }

        public CellMeasurement Measure(string kind, int rate, long t0, double ticksPerRequest, TimeSpan duration)
        {
            if (Total == 0)
            {
                return new CellMeasurement(kind, rate, 0, 0, LatencySummary.Empty, 0, new Dictionary<string, int>(), 0, 0);
            }

            var ok = new List<long>(Total);
            var windowEnd = t0 + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var okInWindow = 0;
            var errors = new SortedDictionary<string, int>(StringComparer.Ordinal);
            for (var k = 0; k < Total; k++)
            {
                var status = Volatile.Read(ref _status[k]);
                var key = status switch
                {
                    0 => "unanswered",
                    Timeout => "timeout",
                    Failed => "connection failed",
                    >= 200 and < 300 => null,
                    _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                if (key is null)
                {
                    ok.Add(_latency[k]);
                    if (t0 + (long)(k * ticksPerRequest) + _latency[k] <= windowEnd)
                    {
                        okInWindow++;
                    }
                }
                else
                {
                    errors[key] = errors.GetValueOrDefault(key) + 1;
                }
            }

            // 2xx answers that arrived while the schedule ran, per second of it: the offered rate when the server
            // keeps up, less when answers trail behind. Counting to the last answer instead would let one slow
            // straggler in a short window pull the figure down by a third.
            var lags = SendLag.ToArray();
            return new CellMeasurement(
                kind,
                rate,
                Total,
                ok.Count,
                LatencySummary.FromTicks(ok),
                okInWindow / duration.TotalSeconds,
                errors,
                LatencySummary.PercentileMs(lags, 99),
                LatencySummary.TicksToMs(lags.Length == 0 ? 0 : lags.Max()));
        }
    }
}

/// <summary>What one kind at one rate measured in one run.</summary>
/// <param name="Kind">The request kind.</param>
/// <param name="OfferedQps">The schedule's rate.</param>
/// <param name="Sent">Requests sent (all of them: an open loop never skips one).</param>
/// <param name="Ok">Answers with a 2xx status.</param>
/// <param name="Latency">Percentiles of the 2xx answers, from due time to the end of the answer.</param>
/// <param name="AchievedQps">2xx answers completed within the scheduled interval, per second of it.</param>
/// <param name="Errors">Everything else, by status code, "timeout" or "connection failed".</param>
/// <param name="SendLagP99Ms">How late the scheduler sent requests (p99): the generator's own delay.</param>
/// <param name="SendLagMaxMs">The latest a request was sent after its due time.</param>
/// <param name="CpuPercent">CPU this whole process used meanwhile, in % of all cores (bench, cluster, Kafka).</param>
/// <param name="MaxThreadPoolQueue">The longest thread-pool queue sampled (every 50 ms, from the pool itself,
/// so a starved pool is sampled late: a lower bound).</param>
public sealed record CellMeasurement(
    string Kind,
    int OfferedQps,
    int Sent,
    int Ok,
    LatencySummary Latency,
    double AchievedQps,
    IReadOnlyDictionary<string, int> Errors,
    double SendLagP99Ms,
    double SendLagMaxMs,
    double CpuPercent = 0,
    long MaxThreadPoolQueue = 0)
{
    public int ErrorCount => Errors.Values.Sum();
}
