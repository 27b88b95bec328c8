using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Bench.Quality.Sessions;

/// <summary>
/// The session protocol: next-item prediction on anonymous sessions. Each UCI Online Retail invoice (Chen, Sain and
/// Guo 2012; CC BY 4.0) is replayed as one visitor's session through the engine's real classes
/// (<see cref="EngineReplay"/>): its lines, in the order the file lists them, are the visitor's clicks. Before each
/// click after the first, every method is asked for K items from the same state, and the click is the target; then
/// the click is applied and the replay goes on.
/// </summary>
/// <remarks>
/// <para>What the order means, and its limits: an invoice's lines are in the order the shop's system wrote them,
/// which for this web shop follows the order items went into the basket, but the data set does not say so, and all
/// lines of an invoice carry one timestamp. The replay gives the k-th line the invoice's time plus k seconds, so
/// that the engine sees the order. A line repeating the session's previous item is dropped (a quantity split over
/// two lines is not a click).</para>
/// <para>Periods: sessions before <see cref="SessionOptions.ValidationStart"/> only train; the blend is chosen on
/// the validation sessions (a grid of weights, scored as they come, picked by HR@K + MRR@K when the first test
/// session arrives), and only the chosen blend and the configured one are scored on the test sessions. Every
/// session of every period is applied, so the model learns as the cluster would.</para>
/// <para>Two filterings, each its own table: "seen excluded" (every method leaves out the session's clicked items,
/// and a click on an item already clicked is not a target) and "seen included" (nothing left out, every click a
/// target).</para>
/// </remarks>
public static class SessionRun
{
    private const string Served = "served";
    private const string Chosen = "served, blend chosen on validation";
    private const string NeighborhoodsOnly = "engine: neighborhoods only";
    private const string SequentialOnly = "engine: sequential only";
    private const string FactorsOnly = "engine: factors only";
    private const string Popularity = "popularity";
    private const string ItemKnn = "item-kNN (last item)";
    private const string AssociationRules = "association rules";
    private const string SequentialRules = "sequential rules";
    private const string SessionKnn = "session-kNN";
    private const string SeenExcluded = "seen excluded";
    private const string SeenIncluded = "seen included";

    private static readonly string[] Baselines = [Popularity, ItemKnn, AssociationRules, SequentialRules, SessionKnn];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Runs the protocol. See <see cref="SessionOptions.Parse"/> for the arguments (all optional).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = SessionOptions.Parse(args);
        var total = Stopwatch.StartNew();
        var dataPath = options.DataPath ?? QualityRun.FindDefaultDataPath();
        if (dataPath is null || !File.Exists(dataPath))
        {
            Console.Error.WriteLine($"quality sessions: skipped: no purchases file ({dataPath ?? "bench/data/online-retail-purchases.csv.gz not found above the working directory"}); pass --data PATH");
            return QualityRun.DataMissingExitCode;
        }

        var data = RetailDataReader.Load(dataPath);
        Console.WriteLine($"quality sessions: UCI Online Retail (Chen, Sain and Guo 2012, CC BY 4.0) from {dataPath}: {data.Lines.Count:N0} lines, sha256 {(RetailDataReader.ShaMatches(data) ? "matches" : "DIFFERS: " + data.Sha256)}; invoices replayed as sessions");
        var result = Replay(data.Lines, options);
        total.Stop();

        Print(result, options);
        Directory.CreateDirectory(options.OutputDirectory);
        var file = Path.Combine(options.OutputDirectory, options.Tag is null ? "quality-sessions.json" : $"quality-sessions-{options.Tag}.json");
        var r = options.Recommender;
        var report = new
        {
            benchmark = "quality-sessions",
            date = DateTimeOffset.UtcNow,
            command = "dotnet run -c Release --project bench/RecoCluster.Bench -- quality --protocol sessions" + string.Concat(options.Arguments.Select(a => " " + a)),
            cores = Environment.ProcessorCount,
            dataset = new { name = "UCI Online Retail, invoices as sessions", license = "CC BY 4.0", path = dataPath, sha256 = data.Sha256 },
            settings = new
            {
                since = options.Since,
                validationStart = options.ValidationStart,
                testStart = options.TestStart,
                until = options.Until,
                sampleSessions = options.SampleSessions,
                k = options.Count,
                roundHours = options.RoundHours,
                user = new { options.User.WindowSize, options.User.WindowSeconds, options.User.SequentialSteps, factorDimensions = options.User.Factors.Dimensions },
                neighborhoods = new { measure = options.Neighborhoods.Measure.ToString(), options.Neighborhoods.NeighborCount, options.Neighborhoods.Shrinkage, options.Neighborhoods.NextCount, options.Neighborhoods.NextShrinkage },
                recommender = Describe(r),
                baselines = options.Baselines,
            },
            counts = result.Counts,
            chosen = result.Chosen is null ? null : new { blend = Describe(result.Chosen.Options), label = result.Chosen.Label, validation = result.Chosen.Validation },
            grid = result.Grid.Select(g => new { label = g.Label, blend = Describe(g.Options), validation = g.Validation }),
            tables = result.Tables.Select(t => new { period = t.Period, filter = t.Filter, requests = t.Requests, methods = t.Figures(result.Counts.ItemsInTraining) }),
            timingSeconds = new { total = total.Elapsed.TotalSeconds, requests = result.RequestSeconds, rounds = result.RoundSeconds },
        };
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(report, Json));
        Console.WriteLine($"quality sessions: results in {file}");
        return 0;
    }

    private static object Describe(RecommenderOptions o) => new
    {
        o.NeighborhoodWeight,
        o.SequentialWeight,
        o.FactorWeight,
        o.PopularityWeight,
        o.RecencyDecay,
        o.SequentialRecencyDecay,
        o.FactorTrustItems,
    };

    private static SessionResult Replay(IReadOnlyList<RetailLine> lines, SessionOptions options)
    {
        var interval = TimeSpan.FromHours(options.RoundHours);
        var until = options.Until ?? DateTimeOffset.MaxValue;
        var engine = new EngineReplay(options.User, options.Neighborhoods, options.BatchEvents);
        var baselines = new SessionBaselines(options.Baselines);
        var sessions = new Dictionary<string, SessionState>(StringComparer.Ordinal);
        var clickCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        long clicks = 0;
        double SelfInformation(string item) => -Math.Log2(Math.Max(1, clickCounts.GetValueOrDefault(item)) / (double)Math.Max(1, clicks));

        var trainingItems = new HashSet<string>(StringComparer.Ordinal);
        var counts = new SessionCounts();
        var grid = options.Grid ? GridOf(options.Recommender) : [];
        GridPoint? chosen = null;
        var tables = new List<SessionTable>();
        SessionTable Table(string period, string filter, IEnumerable<string> methods)
        {
            var t = new SessionTable(period, filter, methods);
            tables.Add(t);
            return t;
        }

        string[] methods = [Served, NeighborhoodsOnly, SequentialOnly, FactorsOnly, .. Baselines];
        var validationExcluded = Table("validation", SeenExcluded, methods);
        var validationIncluded = Table("validation", SeenIncluded, methods);
        SessionTable? testExcluded = null;
        SessionTable? testIncluded = null;
        var clock = Stopwatch.StartNew();
        var requestTime = TimeSpan.Zero;
        var roundTime = TimeSpan.Zero;
        DateTimeOffset? nextRound = null;
        foreach (var line in lines)
        {
            if (line.At >= until)
            {
                break;
            }

            if (options.Since is { } since && line.At < since)
            {
                continue;
            }

            if (!sessions.TryGetValue(line.Invoice, out var session))
            {
                sessions[line.Invoice] = session = new SessionState("session-" + line.Invoice, line.At, Sampled(line.Invoice, options.SampleSessions));
                counts.Sessions++;
            }

            if (session.Clicks.Count > 0 && session.Clicks[^1] == line.ItemId)
            {
                counts.RepeatedLinesDropped++;
                continue;
            }

            nextRound ??= QualityRun.Boundary(line.At, interval) + interval;
            if (line.At >= nextRound)
            {
                var roundAt = QualityRun.Boundary(line.At, interval);
                var mark = clock.Elapsed;
                engine.Round(roundAt);
                roundTime += clock.Elapsed - mark;
                nextRound = roundAt + interval;
            }

            var period = session.Start < options.ValidationStart ? 0 : session.Start < options.TestStart ? 1 : 2;
            if (period == 0)
            {
                trainingItems.Add(line.ItemId);
            }

            if (period == 2 && testExcluded is null)
            {
                chosen = grid.Count == 0 ? null : grid.MaxBy(g => g.Score);
                string[] testMethods = chosen is null ? methods : [Served, Chosen, .. methods[1..]];
                testExcluded = Table("test", SeenExcluded, testMethods);
                testIncluded = Table("test", SeenIncluded, testMethods);
            }

            if (period > 0 && session.Sampled && session.Clicks.Count > 0)
            {
                var mark = clock.Elapsed;
                var request = new SessionRequest(session, engine.InputFor(session.UserId), engine.Snapshot, baselines);
                var excluded = period == 1 ? validationExcluded : testExcluded!;
                var included = period == 1 ? validationIncluded : testIncluded!;
                var gridNow = period == 1 ? grid : [];
                var chosenNow = period == 2 ? chosen : null;
                Score(request, line.ItemId, excluded, included, options, gridNow, chosenNow, SelfInformation, counts, period);
                requestTime += clock.Elapsed - mark;
            }

            engine.Apply(new ClickEvent(session.UserId, line.ItemId, EventType.Click, session.Start.AddSeconds(session.Clicks.Count)));
            baselines.Add(session.UserId, line.ItemId);
            session.Clicks.Add(line.ItemId);
            clickCounts[line.ItemId] = clickCounts.GetValueOrDefault(line.ItemId) + 1;
            clicks++;
            counts.Clicks++;
        }

        counts.ItemsInTraining = trainingItems.Count;
        return new SessionResult(tables, counts, grid, chosen, requestTime.TotalSeconds, roundTime.TotalSeconds);
    }

    private static void Score(
        SessionRequest r,
        string next,
        SessionTable excluded,
        SessionTable included,
        SessionOptions options,
        IReadOnlyList<GridPoint> grid,
        GridPoint? chosen,
        Func<string, double> selfInformation,
        SessionCounts counts,
        int period)
    {
        var k = options.Count;
        var seen = r.Seen;
        var isNew = !seen.Contains(next);
        if (period == 1)
        {
            counts.ValidationRequests++;
        }
        else
        {
            counts.TestRequests++;
        }

        included.CountRequest();
        foreach (var method in included.Methods)
        {
            included[method].Add(Answer(method, r, options, chosen, excludeSeen: false, k), next, selfInformation, r.Baselines.Similarity);
        }

        if (!isNew)
        {
            excluded.CountSeenTarget();
            return;
        }

        excluded.CountRequest();
        foreach (var method in excluded.Methods)
        {
            excluded[method].Add(Answer(method, r, options, chosen, excludeSeen: true, k), next, selfInformation, r.Baselines.Similarity);
        }

        // The grid: every blend from the same state, on validation requests only. Diversity is left out here
        // (only hits decide the choice), which keeps a run of the whole grid to about a minute.
        foreach (var point in grid)
        {
            var list = Recommender.ForUser(r.Input, r.Snapshot, item => !seen.Contains(item), point.Options, k, r.At);
            point.Add(list, next);
        }
    }

    private static List<string> Answer(string method, SessionRequest r, SessionOptions options, GridPoint? chosen, bool excludeSeen, int k)
    {
        var seen = r.Seen;
        bool Allowed(string item) => !excludeSeen || !seen.Contains(item);
        List<string> Serve(RecommenderOptions o) =>
            Recommender.ForUser(r.Input, r.Snapshot, Allowed, Filtered(o, excludeSeen), k, r.At).ConvertAll(x => x.ItemId);

        var b = options.Recommender;
        return method switch
        {
            Served => Serve(b),
            Chosen => Serve(chosen!.Options),
            NeighborhoodsOnly => Serve(Only(b, neighborhood: 1)),
            SequentialOnly => Serve(Only(b, sequential: 1)),
            FactorsOnly => Serve(Only(b, factor: 1)),
            Popularity => r.Baselines.Popularity(Allowed, k),
            ItemKnn => r.Baselines.ItemKnn(r.Session, Allowed, k),
            AssociationRules => r.Baselines.AssociationRules(r.Session, Allowed, k),
            SequentialRules => r.Baselines.SequentialRules(r.Session, Allowed, k),
            SessionKnn => r.Baselines.SessionKnn(r.SessionId, r.Session, Allowed, k),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown method"),
        };
    }

    // The engine's filter follows the table's: seen items left out (the window's, and through `Allowed` the older
    // clicks of a session longer than the window), or nothing left out.
    private static RecommenderOptions Filtered(RecommenderOptions o, bool excludeSeen) =>
        o.ExcludeSeen == excludeSeen && o.ExcludePurchased == excludeSeen ? o : Copy(o, excludeSeen);

    private static RecommenderOptions Copy(RecommenderOptions o, bool excludeSeen)
    {
        var copy = o.Clone();
        copy.ExcludeSeen = copy.ExcludePurchased = excludeSeen;
        return copy;
    }

    // One source alone, at full trust for the factor model (so that "factors only" shows what the vectors give).
    private static RecommenderOptions Only(RecommenderOptions b, double neighborhood = 0, double sequential = 0, double factor = 0)
    {
        var o = Copy(b, b.ExcludeSeen);
        o.NeighborhoodWeight = neighborhood;
        o.SequentialWeight = sequential;
        o.FactorWeight = factor;
        o.PopularityWeight = 0;
        o.FactorTrustItems = 0;
        return o;
    }

    /// <summary>The blends tried on the validation period: the settings that only the session protocol can
    /// choose (how much what comes next weighs, how fast it forgets older clicks, how much history the factor model
    /// needs). The other weights stay as the next-basket protocol chose them, so that one choice does not undo the
    /// other.</summary>
    private static List<GridPoint> GridOf(RecommenderOptions b)
    {
        var grid = new List<GridPoint>();
        foreach (var sequential in new[] { 4.0, 8.0, 16.0, 32.0 })
        {
            foreach (var sequentialDecay in new[] { 0.2, 0.3, 0.5 })
            {
                foreach (var trust in new[] { 10, 20 })
                {
                    var o = Copy(b, excludeSeen: true);
                    o.SequentialWeight = sequential;
                    o.SequentialRecencyDecay = sequentialDecay;
                    o.FactorTrustItems = trust;
                    grid.Add(new GridPoint(string.Create(CultureInfo.InvariantCulture, $"sequential {sequential}, sequential decay {sequentialDecay}, factor trust {trust}"), o));
                }
            }
        }

        return grid;
    }

    private static void Print(SessionResult result, SessionOptions options)
    {
        var c = result.Counts;
        var k = options.Count;
        Console.WriteLine();
        Console.WriteLine($"sessions: {c.Sessions:N0} replayed, {c.Clicks:N0} clicks ({c.RepeatedLinesDropped:N0} repeated lines dropped); requests scored: {c.ValidationRequests:N0} validation, {c.TestRequests:N0} test; items before validation: {c.ItemsInTraining:N0}");
        if (result.Chosen is { } chosen)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"blend chosen on validation ({result.Grid.Count} tried): {chosen.Label}, HR@{k} {chosen.Validation.HitRate:F3}, MRR@{k} {chosen.Validation.Mrr:F3}"));
        }

        foreach (var table in result.Tables)
        {
            Console.WriteLine();
            var seenTargets = table.SeenTargets > 0 ? $"; {table.SeenTargets:N0} clicks on an already clicked item are not targets here" : string.Empty;
            Console.WriteLine($"### {table.Period}, {table.Filter} ({table.Requests:N0} requests{seenTargets})");
            Console.WriteLine();
            Console.WriteLine($"| method | HR@{k} | MRR@{k} | coverage | novelty (bits) | intra-list diversity | mean list length |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var m in table.Figures(c.ItemsInTraining))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m.Method} | {m.HitRate:F3} | {m.Mrr:F3} | {m.Coverage:F3} | {m.Novelty:F2} | {m.Diversity:F3} | {m.MeanListLength:F1} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("(no category spread: Online Retail has no item categories)");
    }

    // A fixed hash of the invoice number, so that a sample keeps the same sessions in every run.
    private static bool Sampled(string invoice, double fraction) =>
        fraction >= 1 || (RecoCluster.Grains.Algorithms.StableHash.Of(invoice, 0x73657373) >> 11) / (double)(1UL << 53) < fraction;

    private sealed class SessionState(string userId, DateTimeOffset start, bool sampled)
    {
        public string UserId { get; } = userId;

        /// <summary>The invoice's time: the session's period is decided by it.</summary>
        public DateTimeOffset Start { get; } = start;

        public bool Sampled { get; } = sampled;

        /// <summary>The clicks so far, in order (no item twice in a row).</summary>
        public List<string> Clicks { get; } = [];
    }

    /// <summary>One request: the session's prefix and every method's state just before its next click.</summary>
    private sealed class SessionRequest
    {
        public SessionRequest(SessionState session, RecommendationInput input, RecoSnapshot snapshot, SessionBaselines baselines)
        {
            SessionId = session.UserId;
            At = session.Start.AddSeconds(session.Clicks.Count);
            Input = input;
            Snapshot = snapshot;
            Baselines = baselines;
            Seen = new HashSet<string>(session.Clicks, StringComparer.Ordinal);

            // Distinct items ordered by their last click, the latest last, as the baselines take a session.
            var order = new List<string>(Seen.Count);
            var placed = new HashSet<string>(StringComparer.Ordinal);
            for (var i = session.Clicks.Count - 1; i >= 0; i--)
            {
                if (placed.Add(session.Clicks[i]))
                {
                    order.Add(session.Clicks[i]);
                }
            }

            order.Reverse();
            Session = order;
        }

        public string SessionId { get; }

        /// <summary>When the request is served: the time the replay gives the next click.</summary>
        public DateTimeOffset At { get; }

        public RecommendationInput Input { get; }

        public RecoSnapshot Snapshot { get; }

        public SessionBaselines Baselines { get; }

        public HashSet<string> Seen { get; }

        public IReadOnlyList<string> Session { get; }
    }

    /// <summary>A grid point's figures on the validation period (seen excluded).</summary>
    private readonly record struct GridFigures(long Requests, double HitRate, double Mrr);

    private sealed class GridPoint(string label, RecommenderOptions options)
    {
        private long _requests;
        private long _hits;
        private double _reciprocalRanks;

        public string Label { get; } = label;

        public RecommenderOptions Options { get; } = options;

        public double Score => Validation.HitRate + Validation.Mrr;

        public GridFigures Validation =>
            _requests == 0 ? new(0, 0, 0) : new(_requests, _hits / (double)_requests, _reciprocalRanks / _requests);

        public void Add(List<Recommendation> list, string next)
        {
            _requests++;
            var rank = list.FindIndex(x => x.ItemId == next);
            if (rank >= 0)
            {
                _hits++;
                _reciprocalRanks += 1.0 / (rank + 1);
            }
        }
    }

    private sealed class SessionTable
    {
        private readonly Dictionary<string, NextItemScore> _methods = new(StringComparer.Ordinal);

        public SessionTable(string period, string filter, IEnumerable<string> methods)
        {
            Period = period;
            Filter = filter;
            foreach (var m in methods)
            {
                _methods[m] = new NextItemScore(m);
            }
        }

        public string Period { get; }

        public string Filter { get; }

        public long Requests { get; private set; }

        /// <summary>Clicks on an item the session had already clicked: not targets when seen items are excluded.</summary>
        public long SeenTargets { get; private set; }

        public IEnumerable<string> Methods => _methods.Keys;

        public NextItemScore this[string method] => _methods[method];

        public void CountRequest() => Requests++;

        public void CountSeenTarget() => SeenTargets++;

        public List<NextItemFigures> Figures(int itemsInTraining) => _methods.Values.Select(m => m.Figures(itemsInTraining)).ToList();
    }

    private sealed class SessionCounts
    {
        public long Sessions { get; set; }

        public long Clicks { get; set; }

        public long RepeatedLinesDropped { get; set; }

        public long ValidationRequests { get; set; }

        public long TestRequests { get; set; }

        public int ItemsInTraining { get; set; }
    }

    private sealed record SessionResult(List<SessionTable> Tables, SessionCounts Counts, List<GridPoint> Grid, GridPoint? Chosen, double RequestSeconds, double RoundSeconds);
}
