using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RecoCluster.Grains.Algorithms;

/// <summary>
/// An immutable table of item vectors: the replicated item-factor snapshot every silo holds. Rows are stored
/// contiguously (one float array), ids in ordinal order, so negative sampling by index means the same item on
/// every silo that holds the same version.
/// </summary>
public sealed class FactorTable
{
    private readonly Dictionary<string, int> _index;
    private readonly float[] _vectors;

    public FactorTable(int dimensions, IEnumerable<KeyValuePair<string, float[]>> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(dimensions);
        Dimensions = dimensions;
        var sorted = rows.Where(r => r.Value.Length == dimensions && dimensions > 0).OrderBy(r => r.Key, StringComparer.Ordinal).ToArray();
        Ids = Array.ConvertAll(sorted, r => r.Key);
        _vectors = new float[sorted.Length * dimensions];
        _index = new Dictionary<string, int>(sorted.Length, StringComparer.Ordinal);
        for (var i = 0; i < sorted.Length; i++)
        {
            sorted[i].Value.CopyTo(_vectors, i * dimensions);
            _index[sorted[i].Key] = i;
        }
    }

    /// <summary>No vectors (before the first snapshot).</summary>
    public static FactorTable Empty { get; } = new(0, []);

    public int Dimensions { get; }

    /// <summary>Item ids, ordinal order; row i of the table belongs to Ids[i].</summary>
    public IReadOnlyList<string> Ids { get; }

    public int Count => Ids.Count;

    /// <summary>The vector of <paramref name="itemId"/>, or an empty span when the table does not have it.</summary>
    public ReadOnlySpan<float> Get(string itemId) =>
        _index.TryGetValue(itemId, out var row) ? Row(row) : [];

    /// <summary>The vector in row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row) => _vectors.AsSpan(row * Dimensions, Dimensions);

    /// <summary>Writes the dot product of <paramref name="vector"/> with every row into <paramref name="scores"/>
    /// (row i into scores[i]): the factor model's score of every item for a user.</summary>
    public void Score(ReadOnlySpan<float> vector, Span<float> scores)
    {
        if (vector.Length != Dimensions)
        {
            throw new ArgumentException($"a vector of {vector.Length} dimensions against a table of {Dimensions}", nameof(vector));
        }

        var rows = Count;
        ArgumentOutOfRangeException.ThrowIfLessThan(scores.Length, rows, nameof(scores));
        var width = Vector256<float>.Count;
        if (!Vector256.IsHardwareAccelerated || Dimensions % width != 0)
        {
            for (var row = 0; row < rows; row++)
            {
                scores[row] = TensorPrimitives.Dot(vector, Row(row));
            }

            return;
        }

        // By hand rather than TensorPrimitives.Dot per row: at 32 dimensions a row is four vector multiplies, and
        // Dot's dispatch and tail handling per call cost more than the arithmetic. The table is one contiguous
        // array, so this walks it once, front to back.
        ref var table = ref MemoryMarshal.GetArrayDataReference(_vectors);
        ref var user = ref MemoryMarshal.GetReference(vector);
        var dimensions = Dimensions;
        for (var row = 0; row < rows; row++)
        {
            ref var start = ref Unsafe.Add(ref table, row * dimensions);
            var sum = Vector256<float>.Zero;
            for (var d = 0; d < dimensions; d += width)
            {
                sum += Vector256.LoadUnsafe(ref start, (nuint)d) * Vector256.LoadUnsafe(ref user, (nuint)d);
            }

            scores[row] = Vector256.Sum(sum);
        }
    }
}
