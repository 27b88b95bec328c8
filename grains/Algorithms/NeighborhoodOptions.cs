namespace RecoCluster.Grains.Algorithms;

/// <summary>How a neighborhood round scores and keeps neighbors, and how popularity decays. Section
/// <c>Reco:Neighborhoods</c>.</summary>
public sealed class NeighborhoodOptions
{
    public const string Section = "Reco:Neighborhoods";

    /// <summary>The similarity measure: Cosine, Jaccard or LogLikelihood. The log-likelihood ratio does not
    /// over-reward rare pairs by construction; with 50 neighbors it kept the next-basket figures where cosine shrunk
    /// by <see cref="Shrinkage"/> 20 lost a little, and served sessions equally well (docs/benchmarks.md).</summary>
    public SimilarityMeasure Measure { get; set; } = SimilarityMeasure.LogLikelihood;

    /// <summary>Neighbors kept per item (K): tens, so that a visitor's few items still bring enough candidates
    /// after filtering.</summary>
    public int NeighborCount { get; set; } = 50;

    /// <summary>Shrinkage λ of the similar and bought-together lists, in weighted co-occurrence: each score is
    /// multiplied by C[i][j] / (C[i][j] + λ), which keeps rare pairs from outranking established ones under cosine
    /// or Jaccard (0: none, the default with the log-likelihood ratio).</summary>
    public double Shrinkage { get; set; }

    /// <summary>Items kept per item in its "next" list (from the sequential counts).</summary>
    public int NextCount { get; set; } = 50;

    /// <summary>Shrinkage λ of the "next" scores, in step-1 moves: S[i][j] / (Σₖ S[i][k] + λ·60). 2 means an item
    /// followed once by j scores j at a third, not 1 (docs/algorithms.md, "Sequential rules").</summary>
    public double NextShrinkage { get; set; } = 2;

    /// <summary>Pairs that met less than this (in weighted counts) are ignored; 1 keeps every pair.</summary>
    public long MinCooccurrence { get; set; } = 1;

    /// <summary>Seconds between rounds started by the timer; 0 runs rounds only on request.</summary>
    public int RoundIntervalSeconds { get; set; } = 60;

    /// <summary>Half-life of the "popular now" score: activity this old counts half as much as activity now.</summary>
    public double PopularityHalfLifeHours { get; set; } = 24;

    /// <summary>Popular items kept in a snapshot.</summary>
    public int PopularCount { get; set; } = 200;
}
