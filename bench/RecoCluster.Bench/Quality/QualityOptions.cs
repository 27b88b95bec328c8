using System.Globalization;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;

namespace RecoCluster.Bench.Quality;

/// <summary>
/// The settings of one quality run. Engine settings start from the engine's own defaults (the classes the cluster
/// binds from configuration) and change only where an argument says so, or where this data set needs a choice
/// (the time window, below); every value used is written to the results.
/// </summary>
public sealed class QualityOptions
{
    private readonly List<ServedVariant> _variants = [];

    /// <summary>The time window the harness uses unless told otherwise: 30 days. The engine's default (1 day) is
    /// meant for click streams, where a session is hours long. Here every event is a purchase and a customer's
    /// invoices are a median of 22 days apart (59 % of consecutive invoices within 30 days, 14 % within a day), so
    /// with one day the window would pair only items of the same invoice or day; 30 days also lets the end of
    /// one order meet the start of the next restocking order, while a basket a season later does not.</summary>
    public const int DefaultWindowDays = 30;

    public string? DataPath { get; private set; }

    public string OutputDirectory { get; private set; } = Path.Combine("bench", "results");

    /// <summary>The results file is <c>quality.json</c>, or <c>quality-TAG.json</c> for a tagged variant.</summary>
    public string? Tag { get; private set; }

    /// <summary>Baskets on or after this instant are test baskets.</summary>
    public DateTimeOffset Cutoff { get; private set; } = new(2011, 11, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Lines before this are dropped (a shorter replay for smoke runs).</summary>
    public DateTimeOffset? Since { get; private set; }

    /// <summary>The replay stops at the first line at or after this.</summary>
    public DateTimeOffset? Until { get; private set; }

    /// <summary>The replay stops once this many test baskets have been scored.</summary>
    public int MaxTestBaskets { get; private set; } = int.MaxValue;

    /// <summary>Fraction of customers kept (by a fixed hash of the id), for quick runs.</summary>
    public double SampleUsers { get; private set; } = 1.0;

    /// <summary>Recommendations asked of each method per request (the @K of every metric).</summary>
    public int Count { get; private set; } = 20;

    /// <summary>Simulated time between neighborhood rounds.</summary>
    public double RoundHours { get; private set; } = 24;

    /// <summary>Simulated days between rebuilds of the batch item-kNN baseline.</summary>
    public double KnnEveryDays { get; private set; } = 1;

    /// <summary>Neighbors kept per item by the batch item-kNN baseline.</summary>
    public int KnnNeighbors { get; private set; } = 20;

    /// <summary>Micro-batch size: events combined before the deltas go to the item models (in the cluster, an
    /// ingress's batch to the item shards).</summary>
    public int BatchEvents { get; private set; } = 500;

    public UserGrainOptions User { get; } = new() { WindowSeconds = DefaultWindowDays * 86_400 };

    public NeighborhoodOptions Neighborhoods { get; } = new();

    public RecommenderOptions Recommender { get; } = new();

    /// <summary>Extra blends of the served recommender, scored in the same replay as the rest (serving settings do not
    /// change the replayed state, so a sweep of them needs one replay, not one per setting).</summary>
    public IReadOnlyList<ServedVariant> Variants => _variants;

    /// <summary>The arguments as given, for the results' <c>command</c>.</summary>
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    /// <summary>Reads the arguments; throws <see cref="ArgumentException"/> on an unknown one, so that a mistyped
    /// setting in a sweep cannot silently run the defaults.</summary>
    public static QualityOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new QualityOptions { Arguments = [.. args] };
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            int Int() => int.Parse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            double Double() => double.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture);
            float Float() => float.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture);
            DateTimeOffset Date() => DateTimeOffset.Parse(Value(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

            switch (name)
            {
                case "--data": o.DataPath = Value(); break;
                case "--output": o.OutputDirectory = Value(); break;
                case "--tag": o.Tag = Value(); break;
                case "--cutoff": o.Cutoff = Date(); break;
                case "--since": o.Since = Date(); break;
                case "--until": o.Until = Date(); break;
                case "--max-test-baskets": o.MaxTestBaskets = Int(); break;
                case "--sample-users": o.SampleUsers = Double(); break;
                case "--count": o.Count = Int(); break;
                case "--round-hours": o.RoundHours = Double(); break;
                case "--knn-every-days": o.KnnEveryDays = Double(); break;
                case "--knn-neighbors": o.KnnNeighbors = Int(); break;
                case "--batch-events": o.BatchEvents = Int(); break;
                case "--window-size": o.User.WindowSize = Int(); break;
                case "--window-days": o.User.WindowSeconds = (int)Math.Round(Double() * 86_400); break;
                case "--daily-cap": o.User.MaxItemSideEventsPerDay = Int(); break;
                case "--dimensions": o.User.Factors.Dimensions = Int(); break;
                case "--learning-rate": o.User.Factors.LearningRate = Float(); break;
                case "--regularization": o.User.Factors.Regularization = Float(); break;
                case "--measure": o.Neighborhoods.Measure = Enum.Parse<SimilarityMeasure>(Value(), ignoreCase: true); break;
                case "--neighbors": o.Neighborhoods.NeighborCount = Int(); break;
                case "--shrinkage": o.Neighborhoods.Shrinkage = Double(); break;
                case "--min-cooccurrence": o.Neighborhoods.MinCooccurrence = Int(); break;
                case "--half-life-hours": o.Neighborhoods.PopularityHalfLifeHours = Double(); break;
                case "--popular-count": o.Neighborhoods.PopularCount = Int(); break;
                case "--neighborhood-weight": o.Recommender.NeighborhoodWeight = Double(); break;
                case "--factor-weight": o.Recommender.FactorWeight = Double(); break;
                case "--popularity-weight": o.Recommender.PopularityWeight = Double(); break;
                case "--recency-decay": o.Recommender.RecencyDecay = Double(); break;
                case "--sequential-weight": o.Recommender.SequentialWeight = Double(); break;
                case "--sequential-recency-decay": o.Recommender.SequentialRecencyDecay = Double(); break;
                case "--factor-trust-items": o.Recommender.FactorTrustItems = Int(); break;
                case "--sequential-steps": o.User.SequentialSteps = Int(); break;
                case "--factor-candidates": o.Recommender.FactorCandidates = Int(); break;
                case "--variant": o._variants.Add(ServedVariant.Parse(Value())); break;
                default: throw new ArgumentException($"unknown argument '{name}' (see QualityRun's summary for the list)");
            }
        }

        if (o.Count <= 0 || o.RoundHours <= 0 || o.KnnEveryDays <= 0 || o.BatchEvents <= 0 || o.SampleUsers is <= 0 or > 1)
        {
            throw new ArgumentException("--count, --round-hours, --knn-every-days and --batch-events must be positive, --sample-users in (0, 1]");
        }

        return o;
    }
}

/// <summary>
/// A served blend to score besides the default one: <c>--variant LABEL:key=value,key=value</c> with keys
/// <c>neighborhood-weight</c>, <c>factor-weight</c>, <c>popularity-weight</c>, <c>recency-decay</c>,
/// <c>sequential-weight</c>, <c>factor-trust-items</c>; unset keys keep the run's recommender settings. It appears in the tables as
/// <c>served [LABEL]</c>.
/// </summary>
public sealed record ServedVariant(string Label, double? NeighborhoodWeight, double? FactorWeight, double? PopularityWeight, double? RecencyDecay, double? SequentialWeight = null, double? FactorTrustItems = null)
{
    public static ServedVariant Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ArgumentException($"--variant '{text}': expected LABEL:key=value,...");
        }

        var v = new ServedVariant(text[..colon], null, null, null, null);
        foreach (var pair in text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2);
            var value = parts.Length == 2 ? double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture) : throw new ArgumentException($"--variant '{text}': '{pair}' is not key=value");
            v = parts[0] switch
            {
                "neighborhood-weight" => v with { NeighborhoodWeight = value },
                "factor-weight" => v with { FactorWeight = value },
                "popularity-weight" => v with { PopularityWeight = value },
                "recency-decay" => v with { RecencyDecay = value },
                "sequential-weight" => v with { SequentialWeight = value },
                "factor-trust-items" => v with { FactorTrustItems = value },
                _ => throw new ArgumentException($"--variant '{text}': unknown key '{parts[0]}'"),
            };
        }

        return v;
    }
}
