using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Algorithms;

/// <summary>One item an answer may recommend, with what each source gave it. A struct in
/// <see cref="AnswerCandidates"/>' array, so that gathering a thousand of them allocates nothing.</summary>
internal struct AnswerCandidate
{
    public string ItemId;

    /// <summary>Left out by the filters (seen, bought, unavailable): kept so that the filters run once per item, and
    /// skipped by everything that reads the candidates.</summary>
    public bool Excluded;

    public double Neighborhood;

    /// <summary>What the sequential rules gave it: how often it comes next after the window's items.</summary>
    public double Sequential;

    public double Factor;

    public double Popularity;

    /// <summary>The largest single contribution to <see cref="Neighborhood"/>; <see cref="BecauseOf"/> is its item.</summary>
    public double BestContribution;

    public RecentInteraction? BecauseOf;

    /// <summary>The largest single contribution to <see cref="Sequential"/>; <see cref="NextAfter"/> is its item.</summary>
    public double BestSequential;

    public RecentInteraction? NextAfter;

    public double Score;
}
