using System.Text;
using RecoCluster.Grains.Model;

namespace RecoCluster.Grains.Algorithms;

/// <summary>One item's counts, as a neighborhood round's first phase reads them from every stored item.</summary>
public readonly record struct ItemCounts(string ItemId, long Count, long PurchaseCount);

/// <summary>The item counts of the whole cluster at a round's cut: Nⱼ and NPⱼ for every item, and the totals.</summary>
public sealed class GlobalCounts
{
    private readonly Dictionary<string, ItemCounts> _items;

    private GlobalCounts(Dictionary<string, ItemCounts> items)
    {
        _items = items;
        foreach (var c in items.Values)
        {
            Total += c.Count;
            PurchaseTotal += c.PurchaseCount;
        }
    }

    /// <summary>N: the weighted events over all items.</summary>
    public long Total { get; }

    /// <summary>The purchases over all items.</summary>
    public long PurchaseTotal { get; }

    public int ItemCount => _items.Count;

    /// <summary>Merges lists of item counts, each item in exactly one (the round grain passes a single list).</summary>
    public static GlobalCounts Merge(IEnumerable<IEnumerable<ItemCounts>> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var items = new Dictionary<string, ItemCounts>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            foreach (var c in part)
            {
                items[c.ItemId] = c;
            }
        }

        return new GlobalCounts(items);
    }

    public long CountOf(string itemId) => _items.TryGetValue(itemId, out var c) ? c.Count : 0;

    public long PurchaseCountOf(string itemId) => _items.TryGetValue(itemId, out var c) ? c.PurchaseCount : 0;
}

/// <summary>What a snapshot holds for one item.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Count">Nᵢ at the round's cut.</param>
/// <param name="Trend">The time-decayed "popular now" score (see <see cref="SnapshotBuilder.Trend"/>).</param>
/// <param name="Similar">Top-K neighbors by the configured similarity over the weighted co-occurrence.</param>
/// <param name="BoughtTogether">Top-K neighbors by the same similarity over purchase co-occurrence.</param>
/// <param name="Factors">The item's factor vector, or null when the factor model never touched it.</param>
/// <param name="Next">Top-K items that come next after this one in users' streams, by <see cref="Neighborhoods.Next"/>.</param>
public sealed record SnapshotItem(string ItemId, long Count, double Trend, Scored[] Similar, Scored[] BoughtTogether, float[]? Factors, Scored[] Next);

/// <summary>The per-item work of a neighborhood round, as pure functions of an item's state and the round's
/// global counts. The round grain runs it over every stored item (<c>NeighborhoodRoundRunner</c>); the quality
/// harness and the tests run the same code.</summary>
public static class SnapshotBuilder
{
    /// <summary>Phase 1: an item's counts.</summary>
    public static ItemCounts Counts(string itemId, ItemGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new ItemCounts(itemId, state.Count, state.PurchaseCount);
    }

    /// <summary>Phase 2: an item's snapshot entry.</summary>
    /// <param name="itemId">The item.</param>
    /// <param name="state">Its state at this partition's cut.</param>
    /// <param name="global">The round's global counts.</param>
    /// <param name="previous">The item's entry in the previous complete snapshot, if any.</param>
    /// <param name="secondsSincePrevious">Time between the previous round's start and this one's.</param>
    /// <param name="options">Measure, K, minimum co-occurrence, popularity half-life.</param>
    /// <param name="factors">The factor model's settings: an item no step has touched yet enters the snapshot with
    /// its initial vector, so that the first steps have negatives to draw (null or off: no vectors).</param>
    public static SnapshotItem Entry(string itemId, ItemGrainState state, GlobalCounts global, SnapshotItem? previous, double secondsSincePrevious, NeighborhoodOptions options, FactorOptions? factors = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(options);
        var similar = Neighborhoods.Compute(state.Count, state.Row(), global.CountOf, global.Total, options.Measure, options.NeighborCount, options.MinCooccurrence, options.Shrinkage);
        var bought = state.PurchaseItems.Length == 0
            ? []
            : Neighborhoods.Compute(state.PurchaseCount, state.PurchaseRow(), global.PurchaseCountOf, global.PurchaseTotal, options.Measure, options.NeighborCount, shrinkage: options.Shrinkage);
        var next = state.NextItems.Length == 0 ? [] : Neighborhoods.Next(state.NextRow(), options.NextCount, options.NextShrinkage * UserGrainOptions.SequentialWeightUnit);
        var trend = Trend(previous, state.Count, secondsSincePrevious, options.PopularityHalfLifeHours);
        float[]? vector = null;
        if (factors is { Enabled: true })
        {
            vector = state.Factors is { } f && f.Length == factors.Dimensions ? f.ToArray() : new float[factors.Dimensions];
            if (state.Factors is null || state.Factors.Length != factors.Dimensions)
            {
                Bpr.InitItem(itemId, factors.InitScale, vector);
            }
        }

        return new SnapshotItem(itemId, state.Count, trend, [.. similar], [.. bought], vector, [.. next]);
    }

    /// <summary>
    /// "Popular now": an exponentially decayed count of the item's recent events, updated once per round:
    /// trend = previous trend × 2^(−Δt / half-life) + (Nᵢ now − Nᵢ at the previous round). The first round counts
    /// all of Nᵢ as new. Depends only on the rounds' counts and times, so every silo reads the same value.
    /// </summary>
    public static double Trend(SnapshotItem? previous, long count, double secondsSincePrevious, double halfLifeHours)
    {
        if (previous is null)
        {
            return count;
        }

        var decay = halfLifeHours <= 0 ? 0 : Math.Pow(2, -Math.Max(0, secondsSincePrevious) / (halfLifeHours * 3600));
        return (previous.Trend * decay) + Math.Max(0, count - previous.Count);
    }
}

/// <summary>
/// A complete, versioned snapshot: every item's neighbors, bought-together lists, factor vector and trend, plus
/// the popular list. Immutable; a silo swaps the whole object when a newer version completes, so a request sees
/// one version from start to end.
/// </summary>
public sealed class RecoSnapshot
{
    private readonly Dictionary<string, SnapshotItem> _items;

    private RecoSnapshot(long version, DateTimeOffset builtAt, Dictionary<string, SnapshotItem> items, Scored[] popular, FactorTable factors)
    {
        Version = version;
        BuiltAt = builtAt;
        _items = items;
        Popular = popular;
        Factors = factors;
    }

    /// <summary>Version 0: nothing built yet.</summary>
    public static RecoSnapshot Empty { get; } = new(0, DateTimeOffset.UnixEpoch, new Dictionary<string, SnapshotItem>(StringComparer.Ordinal), [], FactorTable.Empty);

    public long Version { get; }

    /// <summary>When the round that built it completed.</summary>
    public DateTimeOffset BuiltAt { get; }

    /// <summary>Items by "popular now" score, best first (ties by item id).</summary>
    public IReadOnlyList<Scored> Popular { get; }

    /// <summary>The replicated item-factor table.</summary>
    public FactorTable Factors { get; }

    public int ItemCount => _items.Count;

    public IEnumerable<SnapshotItem> Items => _items.Values;

    public SnapshotItem? Find(string itemId) => _items.GetValueOrDefault(itemId);

    /// <summary>Assembles a snapshot from every partition's entries.</summary>
    public static RecoSnapshot Build(long version, DateTimeOffset builtAt, IEnumerable<SnapshotItem> entries, int popularCount, int factorDimensions)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var items = new Dictionary<string, SnapshotItem>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            items[e.ItemId] = e;
        }

        var popular = TopK.Select(items.Values.Where(e => e.Trend > 0).Select(e => new Scored(e.ItemId, e.Trend)), popularCount).ToArray();
        var factors = new FactorTable(factorDimensions, items.Values.Where(e => e.Factors is not null).Select(e => KeyValuePair.Create(e.ItemId, e.Factors!)));
        return new RecoSnapshot(version, builtAt, items, popular, factors);
    }
}

/// <summary>Binary encoding of a round's parts (compact: a part holds a whole partition's items).</summary>
public static class SnapshotCodec
{
    private const byte CountsFormat = 1;
    // Format 2 adds each entry's "next" list; a part written in format 1 (before an upgrade) reads with none.
    private const byte EntriesFormat = 2;

    public static byte[] EncodeCounts(IReadOnlyCollection<ItemCounts> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(CountsFormat);
            w.Write(counts.Count);
            foreach (var c in counts)
            {
                w.Write(c.ItemId);
                w.Write(c.Count);
                w.Write(c.PurchaseCount);
            }
        }

        return stream.ToArray();
    }

    public static List<ItemCounts> DecodeCounts(byte[] bytes)
    {
        using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        Expect(r.ReadByte(), CountsFormat, "counts");
        var n = r.ReadInt32();
        var result = new List<ItemCounts>(n);
        for (var i = 0; i < n; i++)
        {
            result.Add(new ItemCounts(r.ReadString(), r.ReadInt64(), r.ReadInt64()));
        }

        return result;
    }

    public static byte[] EncodeEntries(IReadOnlyCollection<SnapshotItem> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(EntriesFormat);
            w.Write(entries.Count);
            foreach (var e in entries)
            {
                w.Write(e.ItemId);
                w.Write(e.Count);
                w.Write(e.Trend);
                WriteScored(w, e.Similar);
                WriteScored(w, e.BoughtTogether);
                w.Write(e.Factors?.Length ?? -1);
                foreach (var f in e.Factors ?? [])
                {
                    w.Write(f);
                }

                WriteScored(w, e.Next);
            }
        }

        return stream.ToArray();
    }

    public static List<SnapshotItem> DecodeEntries(byte[] bytes)
    {
        using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        var format = r.ReadByte();
        if (format is not (1 or EntriesFormat))
        {
            throw new InvalidDataException($"unknown entries part format {format}; this silo reads formats 1 and {EntriesFormat}");
        }

        var n = r.ReadInt32();
        var result = new List<SnapshotItem>(n);
        for (var i = 0; i < n; i++)
        {
            var id = r.ReadString();
            var count = r.ReadInt64();
            var trend = r.ReadDouble();
            var similar = ReadScored(r);
            var bought = ReadScored(r);
            var d = r.ReadInt32();
            float[]? factors = null;
            if (d >= 0)
            {
                factors = new float[d];
                for (var k = 0; k < d; k++)
                {
                    factors[k] = r.ReadSingle();
                }
            }

            var next = format >= 2 ? ReadScored(r) : [];
            result.Add(new SnapshotItem(id, count, trend, similar, bought, factors, next));
        }

        return result;
    }

    private static void WriteScored(BinaryWriter w, Scored[] list)
    {
        w.Write(list.Length);
        foreach (var s in list)
        {
            w.Write(s.ItemId);
            w.Write(s.Score);
        }
    }

    private static Scored[] ReadScored(BinaryReader r)
    {
        var list = new Scored[r.ReadInt32()];
        for (var i = 0; i < list.Length; i++)
        {
            list[i] = new Scored(r.ReadString(), r.ReadDouble());
        }

        return list;
    }

    private static void Expect(byte actual, byte expected, string what)
    {
        if (actual != expected)
        {
            throw new InvalidDataException($"unknown {what} part format {actual}; this silo reads format {expected}");
        }
    }
}
