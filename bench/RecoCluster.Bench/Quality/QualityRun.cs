using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Bench.Quality;

/// <summary>
/// Offline quality of the recommendations on real purchases: the UCI Online Retail data set (Chen, D., Sain, S. L.,
/// Guo, K. (2012), "Data mining for the online retail industry: a case study of RFM model-based customer
/// segmentation using data mining", Journal of Database Marketing &amp; Customer Strategy Management 19(3),
/// 197–208; CC BY 4.0, via the UCI Machine Learning Repository) replayed in time order through the engine's real
/// classes (<see cref="EngineReplay"/>), with a time split: each basket after the cut-off is predicted just before
/// it is applied, by every method from the same state, then applied, and the replay goes on.
/// </summary>
/// <remarks>
/// Two filterings, each its own table, because repeat purchases are common here (38 % of the test period's
/// basket items were bought by the same customer before the cut-off): "new items only" (every method leaves out
/// the user's window, and the basket's items already in the window are not targets) and "all items" (nothing
/// left out). Comparing a method that may recommend repeats with one that may not would measure the filter, not
/// the method.
/// </remarks>
public static class QualityRun
{
    private const string Served = "served";
    private const string ServedRepeats = "served (repeats allowed)";
    private const string Popularity = "popularity";
    private const string Knn = "item-kNN (batch)";
    private const string FactorsOnly = "factors only";
    private const string NeighborhoodsOnly = "neighborhoods only";
    private const string NewItems = "new items only";
    private const string AllItems = "all items";
    private const string Deployed = "all items, served as deployed";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>
    /// Runs both protocols: next-basket (this class; <see cref="QualityOptions.Parse"/> gives its arguments) and then
    /// the session protocol (<see cref="Sessions.SessionRun"/>). <c>--protocol basket</c> or <c>--protocol sessions</c>
    /// runs one; with both, <c>--data</c>, <c>--output</c> and <c>--tag</c> go to both, and an argument
    /// <c>--sessions-NAME</c> goes to the session protocol as <c>--NAME</c>.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var protocol = "both";
        var basket = new List<string>();
        var sessions = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            if (name == "--protocol")
            {
                protocol = Value();
            }
            else if (name.StartsWith("--sessions-", StringComparison.Ordinal))
            {
                sessions.Add("--" + name["--sessions-".Length..]);
                if (name != "--sessions-no-grid")
                {
                    sessions.Add(Value());
                }
            }
            else if (name is "--data" or "--output" or "--tag")
            {
                var value = Value();
                basket.AddRange([name, value]);
                sessions.AddRange([name, value]);
            }
            else
            {
                basket.Add(name);
            }
        }

        switch (protocol)
        {
            case "basket":
                return await RunBasketAsync([.. basket]);
            case "sessions":
                // One protocol: its own argument names, without the prefix.
                return await Sessions.SessionRun.RunAsync([.. args.Where((a, i) => a != "--protocol" && (i == 0 || args[i - 1] != "--protocol"))]);
            case "both":
                var code = await RunBasketAsync([.. basket]);
                return code != 0 ? code : await Sessions.SessionRun.RunAsync([.. sessions]);
            default:
                throw new ArgumentException($"--protocol is '{protocol}'; it must be basket, sessions or both");
        }
    }

    private static async Task<int> RunBasketAsync(string[] args)
    {
        var options = QualityOptions.Parse(args);
        var total = Stopwatch.StartNew();
        var dataPath = options.DataPath ?? FindDefaultDataPath();
        if (dataPath is null || !File.Exists(dataPath))
        {
            // One line, and an exit code of its own, so that `./reco bench` reports the part as skipped and runs
            // the others (a clone of the project alone has no data set next to it).
            Console.Error.WriteLine(dataPath is null
                ? $"quality: skipped: the UCI Online Retail purchases file is not in {DefaultDataRelativePath} above {Directory.GetCurrentDirectory()}; run from the repository, or pass --data PATH (bench/README.md)"
                : $"quality: skipped: {dataPath} does not exist; pass --data PATH to the purchases file or the published gzipped CSV (bench/README.md)");
            return DataMissingExitCode;
        }

        Console.WriteLine($"quality: UCI Online Retail (Chen, Sain and Guo 2012, CC BY 4.0) from {dataPath}, {Environment.ProcessorCount} cores");

        var load = Stopwatch.StartNew();
        var data = RetailDataReader.Load(dataPath);
        var lines = data.Lines
            .Where(l => (options.Since is null || l.At >= options.Since) && KeepUser(l.UserId, options.SampleUsers))
            .ToList();
        load.Stop();
        var shaOk = RetailDataReader.ShaMatches(data);
        var kept = data.Format == RetailFileFormat.Published
            ? $"{data.Rows:N0} rows, {data.Lines.Count:N0} purchases kept (dropped: {data.NoCustomer:N0} without customer, then {data.Cancelled:N0} cancellations, {data.NotPositive:N0} other lines with quantity ≤ 0)"
            : $"{data.Lines.Count:N0} purchases (the trimmed purchases file)";
        Console.WriteLine($"quality: {kept}, {lines.Count:N0} replayed; sha256 {(shaOk ? "matches the README" : "DIFFERS from the README: " + data.Sha256)}; loaded in {load.Elapsed.TotalSeconds:F1} s");

        var result = Replay(lines, options);
        total.Stop();

        PrintTables(result, options.Count);
        var t = result.Timing;
        Console.WriteLine($"quality: {result.Rounds:N0} rounds, {result.KnnRebuilds:N0} item-kNN rebuilds; load {load.Elapsed.TotalSeconds:F1} s, apply {t.Apply.TotalSeconds:F1} s, rounds {t.Rounds.TotalSeconds:F1} s, item-kNN rebuilds {t.Knn.TotalSeconds:F1} s, requests {t.Requests.TotalSeconds:F1} s, total {total.Elapsed.TotalSeconds:F1} s");

        Directory.CreateDirectory(options.OutputDirectory);
        var file = Path.Combine(options.OutputDirectory, options.Tag is null ? "quality.json" : $"quality-{options.Tag}.json");
        var report = new
        {
            benchmark = "quality",
            date = DateTimeOffset.UtcNow,
            command = "dotnet run -c Release --project bench/RecoCluster.Bench -- quality" + string.Concat(options.Arguments.Select(a => " " + a)),
            cores = Environment.ProcessorCount,
            dataset = new
            {
                name = "UCI Online Retail",
                citation = "Chen, D., Sain, S. L., Guo, K. (2012). Data mining for the online retail industry: a case study of RFM model-based customer segmentation using data mining. Journal of Database Marketing & Customer Strategy Management 19(3), 197-208.",
                license = "CC BY 4.0",
                path = dataPath,
                format = data.Format == RetailFileFormat.Published ? "published" : "purchases",
                sha256 = data.Sha256,
                sha256Verified = shaOk,
                rows = data.Rows,
                purchasesKept = data.Lines.Count,
                droppedNoCustomer = data.NoCustomer,
                droppedCancellations = data.Cancelled,
                droppedQuantityNotPositive = data.NotPositive,
            },
            settings = new
            {
                cutoff = options.Cutoff,
                since = options.Since,
                until = options.Until,
                maxTestBaskets = options.MaxTestBaskets == int.MaxValue ? (int?)null : options.MaxTestBaskets,
                sampleUsers = options.SampleUsers,
                k = options.Count,
                roundHours = options.RoundHours,
                knnEveryDays = options.KnnEveryDays,
                knnNeighbors = options.KnnNeighbors,
                batchEvents = options.BatchEvents,
                user = new
                {
                    options.User.WindowSize,
                    options.User.WindowSeconds,
                    options.User.MaxItemSideEventsPerDay,
                    options.User.SequentialSteps,
                    purchaseWeight = options.User.Weights.Purchase,
                    factors = new { options.User.Factors.Dimensions, options.User.Factors.LearningRate, options.User.Factors.Regularization, options.User.Factors.InitScale },
                },
                neighborhoods = new
                {
                    measure = options.Neighborhoods.Measure.ToString(),
                    options.Neighborhoods.NeighborCount,
                    options.Neighborhoods.MinCooccurrence,
                    options.Neighborhoods.Shrinkage,
                    options.Neighborhoods.NextCount,
                    options.Neighborhoods.NextShrinkage,
                    options.Neighborhoods.PopularityHalfLifeHours,
                    options.Neighborhoods.PopularCount,
                },
                recommender = new
                {
                    options.Recommender.NeighborhoodWeight,
                    options.Recommender.FactorWeight,
                    options.Recommender.PopularityWeight,
                    options.Recommender.RecencyDecay,
                    options.Recommender.SequentialWeight,
                    options.Recommender.SequentialRecencyDecay,
                    options.Recommender.FactorTrustItems,
                    options.Recommender.FactorCandidates,
                },
                variants = options.Variants,
            },
            counts = result.Counts,
            tables = result.Tables.Select(tb => new
            {
                segment = tb.Segment,
                filter = tb.Filter,
                baskets = tb.Baskets,
                targetItems = tb.TargetItems,
                pureRepeatBasketsLeftOut = tb.EmptyTargets,
                methods = tb.Figures(result.Counts.ItemsInTraining).ToList(),
            }),
            timingSeconds = new
            {
                load = load.Elapsed.TotalSeconds,
                apply = t.Apply.TotalSeconds,
                rounds = t.Rounds.TotalSeconds,
                knnRebuilds = t.Knn.TotalSeconds,
                requests = t.Requests.TotalSeconds,
                total = total.Elapsed.TotalSeconds,
            },
        };
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(report, Json));
        Console.WriteLine($"quality: results in {file}");
        return 0;
    }

    /// <summary>The exit code of a run without its data set (the part is skipped, not failed).</summary>
    public const int DataMissingExitCode = 3;

    private static readonly string DefaultDataRelativePath = Path.Combine("bench", "data", "online-retail-purchases.csv.gz");

    /// <summary>The purchases file the repository ships: <c>bench/data/online-retail-purchases.csv.gz</c>. Found
    /// by walking up from the working directory, so it resolves from the root (where <c>./reco bench</c> runs) and
    /// from a test's output folder alike; null when it is nowhere above.</summary>
    public static string? FindDefaultDataPath()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, DefaultDataRelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static ReplayResult Replay(List<RetailLine> lines, QualityOptions options)
    {
        var cutoff = options.Cutoff;
        var until = options.Until ?? DateTimeOffset.MaxValue;
        var interval = TimeSpan.FromHours(options.RoundHours);
        var knnEvery = TimeSpan.FromDays(options.KnnEveryDays);

        // What the split needs to know up front: who had history before the cut-off (warm customers), which items
        // the training period saw (coverage's denominator), and each test basket's distinct items.
        var warmUsers = new HashSet<string>(StringComparer.Ordinal);
        var trainingItems = new HashSet<string>(StringComparer.Ordinal);
        var baskets = new Dictionary<(string User, string Invoice), HashSet<string>>();
        foreach (var l in lines)
        {
            if (l.At < cutoff)
            {
                warmUsers.Add(l.UserId);
                trainingItems.Add(l.ItemId);
            }
            else if (l.At < until)
            {
                if (!baskets.TryGetValue((l.UserId, l.Invoice), out var set))
                {
                    baskets[(l.UserId, l.Invoice)] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(l.ItemId);
            }
        }

        var engine = new EngineReplay(options.User, options.Neighborhoods, options.BatchEvents);
        var knn = new BatchItemKnn(options.User.WindowSize, options.KnnNeighbors);
        var lineCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        long linesSoFar = 0;
        double SelfInformation(string item) => -Math.Log2(Math.Max(1, lineCounts.GetValueOrDefault(item)) / (double)Math.Max(1, linesSoFar));

        var methods = new Methods(options);
        var tables = new List<QualityTable>();
        var tableOf = new Dictionary<(string Segment, string Filter), QualityTable>();
        foreach (var segment in new[] { "warm", "cold" })
        {
            foreach (var (filter, names) in new[] { (NewItems, methods.NewItemNames), (AllItems, methods.AllItemNames), (Deployed, [Served]) })
            {
                var table = new QualityTable(segment, filter, names);
                tables.Add(table);
                tableOf[(segment, filter)] = table;
            }
        }

        var scored = new HashSet<(string, string)>();
        var counts = new ReplayCounts { ItemsInTraining = trainingItems.Count, WarmUsers = warmUsers.Count };
        var timing = new ReplayTiming();
        var clock = Stopwatch.StartNew();
        DateTimeOffset? nextRound = null;
        DateTimeOffset? knnBuiltAt = null;
        foreach (var line in lines)
        {
            if (line.At >= until)
            {
                break;
            }

            // Rounds run on a timer: one at every boundary of the interval (UTC-aligned). Days without events are
            // skipped: with nothing applied in between, one round at the last boundary gives the same snapshot as
            // one per boundary (the trend's decay composes; counts and factors do not move).
            nextRound ??= Boundary(line.At, interval) + interval;
            if (line.At >= nextRound)
            {
                var roundAt = Boundary(line.At, interval);
                var mark = clock.Elapsed;
                engine.Round(roundAt);
                timing.Rounds += clock.Elapsed - mark;

                // The baseline is rebuilt at the same cut as the engine's snapshot, once its snapshot can serve a
                // test request (rebuilds before that would never be asked anything).
                if (roundAt + interval > cutoff && (knnBuiltAt is null || roundAt - knnBuiltAt >= knnEvery))
                {
                    mark = clock.Elapsed;
                    knn.Rebuild();
                    knnBuiltAt = roundAt;
                    timing.Knn += clock.Elapsed - mark;
                }

                nextRound = roundAt + interval;
            }

            if (line.At >= cutoff && !scored.Contains((line.UserId, line.Invoice)))
            {
                if (scored.Count >= options.MaxTestBaskets)
                {
                    break;
                }

                scored.Add((line.UserId, line.Invoice));
                var mark = clock.Elapsed;
                var warm = warmUsers.Contains(line.UserId);
                var request = new Request(line.UserId, engine.InputFor(line.UserId), engine.Snapshot, knn, line.At);
                if (!request.Window.SetEquals(knn.Window(line.UserId)))
                {
                    counts.WindowMismatches++;
                }

                ScoreBasket(request, baskets[(line.UserId, line.Invoice)], warm ? "warm" : "cold", tableOf, methods, options.Count, SelfInformation);
                if (warm)
                {
                    counts.WarmBaskets++;
                }
                else
                {
                    counts.ColdBaskets++;
                    if (request.Window.Count == 0)
                    {
                        counts.ColdBasketsWithEmptyWindow++;
                    }
                }

                timing.Requests += clock.Elapsed - mark;
            }

            var applyMark = clock.Elapsed;
            engine.Apply(line);
            knn.Add(line.UserId, line.ItemId);
            lineCounts[line.ItemId] = lineCounts.GetValueOrDefault(line.ItemId) + 1;
            linesSoFar++;
            if (line.At < cutoff)
            {
                counts.TrainEvents++;
            }
            else
            {
                counts.TestEvents++;
            }

            timing.Apply += clock.Elapsed - applyMark;
        }

        counts.TestBaskets = counts.WarmBaskets + counts.ColdBaskets;
        counts.FactorTableItems = engine.Snapshot.Factors.Count;
        counts.UsersWithFactors = engine.UsersWithFactors;
        return new ReplayResult(tables, counts, timing, engine.Rounds, knn.Rebuilds);
    }

    // Every method answers from the same state for the same basket; the basket is then scored in the "all items"
    // table, and (minus the items already in the window) in the "new items only" table.
    private static void ScoreBasket(
        Request request,
        HashSet<string> basket,
        string segment,
        Dictionary<(string, string), QualityTable> tables,
        Methods methods,
        int count,
        Func<string, double> selfInformation)
    {
        var all = tables[(segment, AllItems)];
        all.CountBasket(basket.Count);
        foreach (var name in methods.AllItemNames)
        {
            all[name].Add(methods.Answer(name, request, newOnly: false, count), basket, selfInformation);
        }

        var deployed = tables[(segment, Deployed)];
        deployed.CountBasket(basket.Count);
        deployed[Served].Add(methods.Answer(Served, request, newOnly: true, count), basket, selfInformation);

        var fresh = tables[(segment, NewItems)];
        var target = new HashSet<string>(basket.Where(i => !request.Window.Contains(i)), StringComparer.Ordinal);
        if (target.Count == 0)
        {
            fresh.CountEmptyTarget();
            return;
        }

        fresh.CountBasket(target.Count);
        foreach (var name in methods.NewItemNames)
        {
            fresh[name].Add(methods.Answer(name, request, newOnly: true, count), target, selfInformation);
        }
    }

    private static void PrintTables(ReplayResult result, int k)
    {
        var c = result.Counts;
        Console.WriteLine();
        Console.WriteLine($"events: {c.TrainEvents:N0} before the cut-off, {c.TestEvents:N0} after; test baskets scored: {c.TestBaskets:N0} ({c.WarmBaskets:N0} warm, {c.ColdBaskets:N0} cold, of which {c.ColdBasketsWithEmptyWindow:N0} with no history at all); items before the cut-off: {c.ItemsInTraining:N0}");
        Console.WriteLine($"factor model at the end: {c.FactorTableItems:N0} items in the snapshot's factor table, {c.UsersWithFactors:N0} users with a vector");
        if (c.WindowMismatches > 0)
        {
            Console.WriteLine($"WARNING: the baseline's window differed from the user model's on {c.WindowMismatches:N0} requests");
        }

        foreach (var table in result.Tables)
        {
            Console.WriteLine();
            var left = table.EmptyTargets > 0 ? $"; {table.EmptyTargets:N0} pure-repeat baskets left out" : string.Empty;
            Console.WriteLine($"### {table.Segment} customers, {table.Filter} ({table.Baskets:N0} baskets, {table.TargetItems:N0} target items{left})");
            Console.WriteLine();
            Console.WriteLine($"| method | HR@{k} | item recall@{k} | MRR@{k} | coverage | novelty (bits) | mean list length |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var m in table.Figures(c.ItemsInTraining))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m.Method} | {m.HitRate:F3} | {m.ItemRecall:F3} | {m.Mrr:F3} | {m.Coverage:F3} | {m.Novelty:F2} | {m.MeanListLength:F1} |"));
            }
        }

        Console.WriteLine();
    }

    /// <summary>The start of the UTC-aligned round interval <paramref name="at"/> falls in: rounds of both protocols
    /// run at these boundaries.</summary>
    internal static DateTimeOffset Boundary(DateTimeOffset at, TimeSpan interval) =>
        DateTimeOffset.UnixEpoch + TimeSpan.FromTicks((at - DateTimeOffset.UnixEpoch).Ticks / interval.Ticks * interval.Ticks);

    // A fixed hash of the customer number (not string.GetHashCode, which changes per process), so a sample keeps
    // the same customers in every run.
    private static bool KeepUser(string userId, double fraction)
    {
        if (fraction >= 1)
        {
            return true;
        }

        var h = RecoCluster.Grains.Algorithms.StableHash.Of(userId, 0x73616d70);
        return (h >> 11) / (double)(1UL << 53) < fraction;
    }

    /// <summary>One request: the user's state and the snapshot as they are just before the basket.</summary>
    private sealed class Request(string userId, RecommendationInput input, RecoSnapshot snapshot, BatchItemKnn knn, DateTimeOffset at)
    {
        public string UserId { get; } = userId;

        /// <summary>When the basket is asked for: its invoice's time.</summary>
        public DateTimeOffset At { get; } = at;

        public RecommendationInput Input { get; } = input;

        public RecoSnapshot Snapshot { get; } = snapshot;

        public BatchItemKnn Knn { get; } = knn;

        public HashSet<string> Window { get; } = new(input.Recent.Select(r => r.ItemId), StringComparer.Ordinal);
    }

    /// <summary>The methods, each in its two filterings. Every engine method goes through the serving code
    /// (<see cref="Recommender"/>); only the blend weights and the filters differ.</summary>
    private sealed class Methods
    {
        private readonly RecommenderOptions _served;
        private readonly RecommenderOptions _servedRepeats;
        private readonly RecommenderOptions _factors;
        private readonly RecommenderOptions _factorsRepeats;
        private readonly RecommenderOptions _neighborhoods;
        private readonly RecommenderOptions _neighborhoodsRepeats;
        private readonly Dictionary<string, (RecommenderOptions New, RecommenderOptions All)> _variants = new(StringComparer.Ordinal);

        public Methods(QualityOptions options)
        {
            var b = options.Recommender;
            foreach (var v in options.Variants)
            {
                var nw = v.NeighborhoodWeight ?? b.NeighborhoodWeight;
                var fw = v.FactorWeight ?? b.FactorWeight;
                var pw = v.PopularityWeight ?? b.PopularityWeight;
                var rd = v.RecencyDecay ?? b.RecencyDecay;
                var variant = (New: Copy(b, nw, fw, pw, exclude: true, rd), All: Copy(b, nw, fw, pw, exclude: false, rd));
                variant.New.SequentialWeight = variant.All.SequentialWeight = v.SequentialWeight ?? b.SequentialWeight;
                variant.New.FactorTrustItems = variant.All.FactorTrustItems = (int)(v.FactorTrustItems ?? b.FactorTrustItems);
                _variants[$"{Served} [{v.Label}]"] = variant;
            }

            NewItemNames = [Served, Popularity, Knn, FactorsOnly, NeighborhoodsOnly, .. _variants.Keys];
            AllItemNames = [ServedRepeats, Popularity, Knn, FactorsOnly, NeighborhoodsOnly, .. _variants.Keys];
            _served = Copy(b, b.NeighborhoodWeight, b.FactorWeight, b.PopularityWeight, exclude: true);
            _servedRepeats = Copy(b, b.NeighborhoodWeight, b.FactorWeight, b.PopularityWeight, exclude: false);
            _factors = Copy(b, 0, 1, 0, exclude: true, single: true);
            _factorsRepeats = Copy(b, 0, 1, 0, exclude: false, single: true);
            _neighborhoods = Copy(b, 1, 0, 0, exclude: true, single: true);
            _neighborhoodsRepeats = Copy(b, 1, 0, 0, exclude: false, single: true);
        }

        public string[] NewItemNames { get; }

        public string[] AllItemNames { get; }

        public List<string> Answer(string method, Request r, bool newOnly, int count)
        {
            bool Allowed(string item) => !(newOnly && r.Window.Contains(item));
            List<string> Serve(RecommenderOptions o) =>
                Recommender.ForUser(r.Input, r.Snapshot, static _ => true, o, count, r.At).ConvertAll(x => x.ItemId);

            if (_variants.TryGetValue(method, out var variant))
            {
                return Serve(newOnly ? variant.New : variant.All);
            }

            return method switch
            {
                Served => Serve(_served),
                ServedRepeats => Serve(_servedRepeats),
                Popularity => Recommender.Popular(r.Snapshot, Allowed, count).ConvertAll(x => x.ItemId),
                Knn => r.Knn.Recommend(r.UserId, Allowed, count),
                FactorsOnly => Serve(newOnly ? _factors : _factorsRepeats),
                NeighborhoodsOnly => Serve(newOnly ? _neighborhoods : _neighborhoodsRepeats),
                _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown method"),
            };
        }

        // A blend of the run's settings with the given weights. A single source ("factors only", "neighborhoods
        // only") has every other weight at 0, and the factor model at full trust, so that it shows what that
        // source gives on its own.
        private static RecommenderOptions Copy(RecommenderOptions b, double neighborhood, double factor, double popularity, bool exclude, double? recencyDecay = null, bool single = false)
        {
            var o = b.Clone();
            o.NeighborhoodWeight = neighborhood;
            o.FactorWeight = factor;
            o.PopularityWeight = popularity;
            o.RecencyDecay = recencyDecay ?? b.RecencyDecay;
            o.ExcludeSeen = o.ExcludePurchased = exclude;
            if (single)
            {
                o.SequentialWeight = 0;
                o.FactorTrustItems = 0;
            }

            return o;
        }
    }

    private sealed class ReplayCounts
    {
        public long TrainEvents { get; set; }

        public long TestEvents { get; set; }

        public long TestBaskets { get; set; }

        public long WarmBaskets { get; set; }

        public long ColdBaskets { get; set; }

        /// <summary>Cold baskets whose customer had no event at all before them (a first-ever basket).</summary>
        public long ColdBasketsWithEmptyWindow { get; set; }

        public int ItemsInTraining { get; set; }

        public int WarmUsers { get; set; }

        /// <summary>Items in the last snapshot's factor table, and users with a factor vector, at the end: 0 and 0
        /// mean the factor model never took a step.</summary>
        public int FactorTableItems { get; set; }

        public int UsersWithFactors { get; set; }

        /// <summary>Requests where the baseline's own window differed from the user model's (expected 0: both are
        /// the last distinct items; a difference would mean the two methods saw different users).</summary>
        public long WindowMismatches { get; set; }
    }

    private sealed class ReplayTiming
    {
        public TimeSpan Apply { get; set; }

        public TimeSpan Rounds { get; set; }

        public TimeSpan Knn { get; set; }

        public TimeSpan Requests { get; set; }
    }

    private sealed record ReplayResult(List<QualityTable> Tables, ReplayCounts Counts, ReplayTiming Timing, int Rounds, int KnnRebuilds);
}
