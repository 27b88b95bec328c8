using System.Numerics.Tensors;

namespace RecoCluster.Grains.Algorithms;

/// <summary>Tuning of the online factor model (BPR). Bound from <c>Reco:Grains:User:Factors</c>.</summary>
public sealed class FactorOptions
{
    /// <summary>Default dimension: 32 floats (128 bytes) per user and per item is the usual size for implicit
    /// feedback on a catalog of this scale, and one dot product is a few SIMD instructions.</summary>
    public const int DefaultDimensions = 32;

    /// <summary>Vector length. 0 turns the factor model off.</summary>
    public int Dimensions { get; set; } = DefaultDimensions;

    /// <summary>SGD step per unit of event weight: a purchase (weight 5) moves the vectors five times as far as a
    /// view (weight 1). 0.04 was the best of 0.005–0.2 on the retail evaluation (docs/benchmarks.md); 0.1 and above
    /// diverge there (a purchase then steps by 0.5), so stay well below it.</summary>
    public float LearningRate { get; set; } = 0.04f;

    /// <summary>L2 regularization of the vectors a step touches.</summary>
    public float Regularization { get; set; } = 0.01f;

    /// <summary>Initial vectors are uniform in ±InitScale/2: small, so early dot products say little.</summary>
    public float InitScale { get; set; } = 0.1f;

    /// <summary>Whether the model is on.</summary>
    public bool Enabled => Dimensions > 0;
}

/// <summary>
/// Bayesian personalized ranking by SGD, one step per event: the user should score the item they interacted
/// with (positive) above a sampled item they did not (negative). Everything random is drawn from
/// <see cref="StableHash"/>, so a step depends only on its inputs.
/// </summary>
public static class Bpr
{
    private const ulong UserSalt = 0x75736572; // 'user'
    private const ulong ItemSalt = 0x6974656d; // 'item'
    private const ulong NegativeSalt = 0x6e656761; // 'nega'

    /// <summary>The initial vector of a user: a function of the id alone, so every silo starts it the same.</summary>
    public static void InitUser(string userId, float scale, Span<float> into) => Init(userId, UserSalt, scale, into);

    /// <summary>The initial vector of an item: the item's model (in its shard) adds the gradients it receives to
    /// this, and a user's model uses it for an item the replicated snapshot does not have yet.</summary>
    public static void InitItem(string itemId, float scale, Span<float> into) => Init(itemId, ItemSalt, scale, into);

    /// <summary>The index of the negative sample for the <paramref name="attempt"/>-th try of the user's
    /// <paramref name="sequence"/>-th event, among <paramref name="count"/> candidates.</summary>
    public static int NegativeIndex(string userId, long sequence, int attempt, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var h = StableHash.Mix(StableHash.Of(userId, NegativeSalt) ^ StableHash.Mix((ulong)sequence * 31 + (ulong)attempt));
        return (int)(h % (ulong)count);
    }

    /// <summary>
    /// One BPR step. Updates <paramref name="user"/> in place and writes the item vectors' changes (already scaled
    /// by the step size) into <paramref name="positiveDelta"/> and <paramref name="negativeDelta"/>: the items
    /// live in the item shards, which add them with the batch's item side. Returns the score difference before the
    /// step.
    /// </summary>
    /// <remarks>With x = u·(p − n) and g = σ(−x) = 1/(1 + eˣ): u += η(g(p − n) − λu), p += η(g·u − λp),
    /// n += η(−g·u − λn), all from the vectors as they were before the step.</remarks>
    public static float Step(
        Span<float> user,
        ReadOnlySpan<float> positive,
        ReadOnlySpan<float> negative,
        float rate,
        float regularization,
        Span<float> positiveDelta,
        Span<float> negativeDelta)
    {
        var d = user.Length;
        if (positive.Length != d || negative.Length != d || positiveDelta.Length != d || negativeDelta.Length != d)
        {
            throw new ArgumentException("all vectors must have the user's length");
        }

        // positiveDelta holds p − n for a moment (no scratch buffer needed).
        TensorPrimitives.Subtract(positive, negative, positiveDelta);
        var x = TensorPrimitives.Dot(user, (ReadOnlySpan<float>)positiveDelta);
        var g = 1f / (1f + MathF.Exp(Math.Clamp(x, -30f, 30f)));

        // Item deltas from the old user vector: η(g·u − λp) and η(−g·u − λn).
        TensorPrimitives.Multiply(user, rate * g, negativeDelta); // η·g·u, kept in negativeDelta for a moment
        Span<float> diff = d <= 256 ? stackalloc float[d] : new float[d];
        positiveDelta.CopyTo(diff);
        TensorPrimitives.MultiplyAdd(positive, -rate * regularization, negativeDelta, positiveDelta); // η·g·u − ηλp
        TensorPrimitives.Negate(negativeDelta, negativeDelta);
        TensorPrimitives.MultiplyAdd(negative, -rate * regularization, negativeDelta, negativeDelta); // −η·g·u − ηλn

        // u += η(g(p − n) − λu)
        TensorPrimitives.Multiply(user, 1f - (rate * regularization), user);
        TensorPrimitives.MultiplyAdd(diff, rate * g, user, user);
        return x;
    }

    private static void Init(string id, ulong salt, float scale, Span<float> into)
    {
        var seed = StableHash.Of(id, salt);
        for (var i = 0; i < into.Length; i++)
        {
            into[i] = StableHash.Centered(StableHash.Mix(seed + (ulong)i)) * scale;
        }
    }
}
