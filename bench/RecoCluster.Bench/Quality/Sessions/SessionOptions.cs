using System.Globalization;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;

namespace RecoCluster.Bench.Quality.Sessions;

/// <summary>
/// The settings of one run of the session protocol (<see cref="SessionRun"/>). The engine's settings start from
/// its own defaults, the classes the cluster binds from configuration, and change only where an argument says so;
/// every value used is written to the results.
/// </summary>
public sealed class SessionOptions
{
    public string? DataPath { get; private set; }

    public string OutputDirectory { get; private set; } = Path.Combine("bench", "results");

    /// <summary>The results file is <c>quality-sessions.json</c>, or <c>quality-sessions-TAG.json</c>.</summary>
    public string? Tag { get; private set; }

    /// <summary>Sessions starting on or after this instant are validation sessions: the blend is chosen on them.</summary>
    public DateTimeOffset ValidationStart { get; private set; } = new(2011, 10, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Sessions starting on or after this instant are test sessions: the chosen blend is reported on them.
    /// The same cut-off as the next-basket protocol's.</summary>
    public DateTimeOffset TestStart { get; private set; } = new(2011, 11, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Lines before this are dropped (a shorter replay for quick runs and the smoke test).</summary>
    public DateTimeOffset? Since { get; private set; }

    /// <summary>The replay stops at the first line at or after this.</summary>
    public DateTimeOffset? Until { get; private set; }

    /// <summary>Fraction of validation and test sessions whose prefixes are scored (by a fixed hash of the
    /// invoice number); every session is replayed whatever this is.</summary>
    public double SampleSessions { get; private set; } = 0.5;

    /// <summary>Recommendations asked of each method per request (the @K of every metric).</summary>
    public int Count { get; private set; } = 20;

    /// <summary>Simulated time between neighborhood rounds.</summary>
    public double RoundHours { get; private set; } = 24;

    /// <summary>Micro-batch size, as in the next-basket protocol.</summary>
    public int BatchEvents { get; private set; } = 500;

    /// <summary>Whether to score the grid of blends on the validation period and pick one (off: only the configured
    /// blend, for quick runs).</summary>
    public bool Grid { get; private set; } = true;

    public UserGrainOptions User { get; } = new();

    public NeighborhoodOptions Neighborhoods { get; } = new();

    public RecommenderOptions Recommender { get; } = new();

    public SessionBaselineOptions Baselines { get; } = new();

    /// <summary>The arguments as given, for the results' <c>command</c>.</summary>
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    /// <summary>Reads the arguments; throws <see cref="ArgumentException"/> on an unknown one.</summary>
    public static SessionOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new SessionOptions { Arguments = [.. args] };
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            int Int() => int.Parse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            double Double() => double.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture);
            DateTimeOffset Date() => DateTimeOffset.Parse(Value(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

            switch (name)
            {
                case "--data": o.DataPath = Value(); break;
                case "--output": o.OutputDirectory = Value(); break;
                case "--tag": o.Tag = Value(); break;
                case "--validation-start": o.ValidationStart = Date(); break;
                case "--test-start": o.TestStart = Date(); break;
                case "--since": o.Since = Date(); break;
                case "--until": o.Until = Date(); break;
                case "--sample-sessions": o.SampleSessions = Double(); break;
                case "--count": o.Count = Int(); break;
                case "--round-hours": o.RoundHours = Double(); break;
                case "--batch-events": o.BatchEvents = Int(); break;
                case "--no-grid": o.Grid = false; break;
                case "--window-size": o.User.WindowSize = Int(); break;
                case "--sequential-steps": o.User.SequentialSteps = Int(); break;
                case "--dimensions": o.User.Factors.Dimensions = Int(); break;
                case "--measure": o.Neighborhoods.Measure = Enum.Parse<SimilarityMeasure>(Value(), ignoreCase: true); break;
                case "--neighbors": o.Neighborhoods.NeighborCount = Int(); break;
                case "--shrinkage": o.Neighborhoods.Shrinkage = Double(); break;
                case "--next-count": o.Neighborhoods.NextCount = Int(); break;
                case "--next-shrinkage": o.Neighborhoods.NextShrinkage = Double(); break;
                case "--neighborhood-weight": o.Recommender.NeighborhoodWeight = Double(); break;
                case "--sequential-weight": o.Recommender.SequentialWeight = Double(); break;
                case "--factor-weight": o.Recommender.FactorWeight = Double(); break;
                case "--popularity-weight": o.Recommender.PopularityWeight = Double(); break;
                case "--recency-decay": o.Recommender.RecencyDecay = Double(); break;
                case "--sequential-recency-decay": o.Recommender.SequentialRecencyDecay = Double(); break;
                case "--factor-trust-items": o.Recommender.FactorTrustItems = Int(); break;
                default: throw new ArgumentException($"unknown argument '{name}' of the session protocol (see SessionOptions)");
            }
        }

        if (o.Count <= 0 || o.RoundHours <= 0 || o.BatchEvents <= 0 || o.SampleSessions is <= 0 or > 1 || o.TestStart <= o.ValidationStart)
        {
            throw new ArgumentException("--count, --round-hours and --batch-events must be positive, --sample-sessions in (0, 1], and --test-start after --validation-start");
        }

        return o;
    }
}
