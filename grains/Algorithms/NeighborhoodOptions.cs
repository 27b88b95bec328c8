namespace RecoCluster.Grains.Algorithms;

/// <summary>How a neighborhood round scores and keeps neighbors, and how popularity decays. Section
/// <c>Reco:Neighborhoods</c>.</summary>
public sealed class NeighborhoodOptions
{
    public const string Section = "Reco:Neighborhoods";

    /// <summary>The similarity measure: Cosine, Jaccard or LogLikelihood.</summary>
    public SimilarityMeasure Measure { get; set; } = SimilarityMeasure.LogLikelihood;

    /// <summary>Neighbors kept per item (K). 20 covers a page of recommendations with room for filtering.</summary>
    public int NeighborCount { get; set; } = 20;

    /// <summary>Pairs that met less than this (in weighted counts) are ignored; 1 keeps every pair.</summary>
    public long MinCooccurrence { get; set; } = 1;

    /// <summary>Seconds between rounds started by the timer; 0 runs rounds only on request.</summary>
    public int RoundIntervalSeconds { get; set; } = 60;

    /// <summary>Half-life of the "popular now" score: activity this old counts half as much as activity now.</summary>
    public double PopularityHalfLifeHours { get; set; } = 24;

    /// <summary>Popular items kept in a snapshot.</summary>
    public int PopularCount { get; set; } = 200;
}
