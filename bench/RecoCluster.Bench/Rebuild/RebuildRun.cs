using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RecoCluster.Bench.Queries;
using RecoCluster.Bench.Synthetic;
using RecoCluster.Cluster;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using static RecoCluster.Bench.BenchText;
using RecoCluster.Grains.Model;

namespace RecoCluster.Bench.Rebuild;

/// <summary>
/// The compute of a neighborhood round against the number of non-zero entries, on the engine's own classes: item
/// states with a chosen number of entries are built from the synthetic workload, then the round's steps
/// run on them (phase 1: every item's counts, merged; phase 2: every item's entry, encoded into parts; then the
/// parts decoded and assembled, as every silo does to install the version). The round grain runs phases 1 and 2
/// one after the other on one thread of its silo (<c>NeighborhoodRoundRunner</c>), as the single-threaded run
/// does. Each size also runs with the items split into <c>--partitions</c> parts done in parallel: what spreading
/// the round over cores would gain, which the round does not do now. Phase 1 here also encodes and decodes each
/// part's counts, as the first runtime's item partitions did; the round keeps them in memory.
/// </summary>
/// <remarks>
/// Not included, because they are not compute: reading the stored items from the database (the round reads them
/// twice, 1,000 at a time), writing the parts and publishing the version, and every silo's finding it (a poll of
/// <c>reco_round</c> every 200 ms) and reading the parts. The freshness part measures a whole round on a real
/// cluster (<c>POST /v1/admin/neighborhoods/rebuild</c>).
/// </remarks>
public static class RebuildRun
{
    private const int Seed = 20261127;

    // An event meets up to W − 1 = 19 window items and adds to both rows of each pair, so a row's weighted sum is
    // about 38 times the item's own count N[i] when windows are full. The synthetic rows are drawn directly, so
    // the counts are derived from them this way; only the similarity's inputs depend on it, not the work.
    private const int RowSumPerCount = 2 * (UserGrainOptions.DefaultWindowSize - 1);

    /// <summary>Runs the benchmark. Options (defaults): <c>--nnz</c> 100000,1000000,3000000,10000000 (non-zero
    /// entries, co-occurrence and purchase rows together); <c>--items</c> 100,000; <c>--clusters</c> 1,000;
    /// <c>--home-share</c> 0.8; <c>--purchase-share</c> 0.05; <c>--partitions</c> 8; <c>--runs</c> 3 (each
    /// step's median: the machine may be shared); <c>--output</c> bench/results.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var sizes = BenchArgs.List(args, "--nnz", ["100000", "1000000", "3000000", "10000000"]).Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var items = BenchArgs.Int(args, "--items", 100_000);
        var clusters = BenchArgs.Int(args, "--clusters", 1_000);
        var homeShare = BenchArgs.Double(args, "--home-share", 0.8);
        var purchaseShare = BenchArgs.Double(args, "--purchase-share", 0.05);
        var partitions = BenchArgs.Int(args, "--partitions", 8);
        var runs = BenchArgs.Int(args, "--runs", 3);
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        // Far below the number of possible pairs, so that drawing new ones never crawls (nor loops forever).
        var maxEntries = (long)items * (items - 1) / 4;
        if (sizes.Length == 0 || sizes.Any(s => s < 1 || s > maxEntries) || items < 2 || clusters < 1 || clusters > items
            || purchaseShare is < 0 or >= 1 || partitions < 1 || runs < 1)
        {
            Console.Error.WriteLine($"rebuild: need sizes between 1 and {maxEntries:N0} (a quarter of the possible pairs of --items), 1 ≤ --clusters ≤ --items, 0 ≤ --purchase-share < 1, --partitions ≥ 1, --runs ≥ 1");
            return 2;
        }

        var neighborhoods = new NeighborhoodOptions();
        var factors = new FactorOptions();
        var command = BenchArgs.Command("rebuild", [
            "--nnz", string.Join(',', sizes), "--items", Invariant(items), "--clusters", Invariant(clusters), "--home-share", Invariant(homeShare),
            "--purchase-share", Invariant(purchaseShare), "--partitions", Invariant(partitions), "--runs", Invariant(runs)]);
        var machine = MachineInfo.Current();
        var loadAtStart = MachineInfo.LoadAverage();
        Console.WriteLine($"rebuild: {command}");
        Console.WriteLine($"rebuild: {machine}, load average {loadAtStart}; {neighborhoods.Measure}, K = {neighborhoods.NeighborCount}, vectors of {factors.Dimensions}");

        var workload = new ClusteredWorkload(1, items, clusters, homeShare);
        var ids = Enumerable.Range(0, items).Select(ClusteredWorkload.ItemId).ToArray();
        // One small round in each mode first, unmeasured: otherwise the first size pays for compiling the code.
        var warmup = Partition(ids, BuildStates(workload, ids, Math.Min(20_000, maxEntries), purchaseShare, factors), partitions);
        _ = Round(warmup, neighborhoods, factors, parallel: false);
        _ = Round(warmup, neighborhoods, factors, parallel: true);

        var rows = new List<RebuildRow>();
        foreach (var size in sizes)
        {
            var clock = Stopwatch.StartNew();
            var states = BuildStates(workload, ids, size, purchaseShare, factors);
            var buildSeconds = clock.Elapsed.TotalSeconds;
            var byPartition = Partition(ids, states, partitions);

            var entries = states.Sum(s => (long)(s?.RowItems.Length ?? 0));
            var purchase = states.Sum(s => (long)(s?.PurchaseItems.Length ?? 0));
            var longest = states.Max(s => s?.RowItems.Length ?? 0);
            var withState = states.Count(s => s is not null);
            Console.WriteLine($"  {size,12:N0}: built {entries:N0} + {purchase:N0} purchase entries over {withState:N0} items (longest row {longest:N0}) in {buildSeconds:N1} s");

            var single = new List<(RebuildTimes Times, Outcome Outcome)>();
            var parallel = new List<(RebuildTimes Times, Outcome Outcome)>();
            for (var run = 0; run < runs; run++)
            {
                single.Add(Round(byPartition, neighborhoods, factors, parallel: false));
                parallel.Add(Round(byPartition, neighborhoods, factors, parallel: true));
            }

            var row = new RebuildRow(
                size,
                entries,
                purchase,
                withState,
                longest,
                Math.Round(buildSeconds, 2),
                Median(single.Select(s => s.Times)),
                Median(parallel.Select(s => s.Times)),
                single[0].Outcome.EncodedBytes,
                Math.Round(single[0].Outcome.MeanNeighbors, 2));
            rows.Add(row);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {size,12:N0}: single-threaded {row.Single.TotalSeconds:N2} s (entries {row.Single.EntriesSeconds:N2} s), {partitions} partitions in parallel {row.Parallel.TotalSeconds:N2} s (entries {row.Parallel.EntriesSeconds:N2} s); parts {row.EncodedBytes / 1e6:N1} MB, {row.MeanNeighbors:N1} neighbors per item"));
        }

        var results = new RebuildResults(
            "rebuild",
            DateTimeOffset.UtcNow,
            command,
            machine,
            new LoadAverages(loadAtStart, MachineInfo.LoadAverage()),
            new RebuildSettings(items, clusters, homeShare, purchaseShare, partitions, neighborhoods.Measure.ToString(), neighborhoods.NeighborCount, factors.Dimensions, runs),
            rows);
        return await BenchOutput.WriteAsync("rebuild", output, RebuildResults.FileName, results, RebuildResults.Json, RebuildTables.Markdown(results));
    }

    /// <summary>
    /// Item states with <paramref name="target"/> non-zero entries. Pairs are drawn as the workload draws a user's
    /// items: the first by Zipf over the catalog, the second from the first one's cluster (home share) or again
    /// from the catalog; each pair adds the weaker of two event weights to both rows, as a user's model does. A
    /// <paramref name="purchaseShare"/> of the entries go to the purchase rows, by the same draw with weight 1.
    /// Every item with an entry carries its initial factor vector, as once the model has touched it.
    /// </summary>
    private static ItemGrainState?[] BuildStates(ClusteredWorkload workload, string[] ids, long target, double purchaseShare, FactorOptions factors)
    {
        var random = new Random(Seed);
        var weights = new EventWeights();
        var rows = new Dictionary<string, long>?[ids.Length];
        var purchaseRows = new Dictionary<string, long>?[ids.Length];
        Dictionary<string, long> Row(int item) => rows[item] ??= new Dictionary<string, long>(StringComparer.Ordinal);
        Dictionary<string, long> PurchaseRow(int item)
        {
            _ = Row(item); // an item with a purchase row has a state
            return purchaseRows[item] ??= new Dictionary<string, long>(StringComparer.Ordinal);
        }

        var purchaseTarget = (long)Math.Round(target * purchaseShare);
        var rowTarget = target - purchaseTarget;
        long made = 0;
        while (made < rowTarget)
        {
            var (i, j) = Pair(workload, random);
            if (i != j)
            {
                var weight = Math.Min(weights.For(ClusteredWorkload.NextType(random)), weights.For(ClusteredWorkload.NextType(random)));
                made += Add(Row(i), ids[j], weight) + Add(Row(j), ids[i], weight);
            }
        }

        made = 0;
        while (made < purchaseTarget)
        {
            var (i, j) = Pair(workload, random);
            if (i != j)
            {
                made += Add(PurchaseRow(i), ids[j], 1) + Add(PurchaseRow(j), ids[i], 1);
            }
        }

        var states = new ItemGrainState?[ids.Length];
        for (var i = 0; i < states.Length; i++)
        {
            if (rows[i] is not { } row)
            {
                continue;
            }

            var purchases = purchaseRows[i] ?? [];
            var state = states[i] = new ItemGrainState
            {
                Count = Math.Max(1, row.Values.Sum() / RowSumPerCount),
                RowItems = [.. row.Keys],
                RowCounts = [.. row.Values],
                PurchaseCount = purchases.Count == 0 ? 0 : Math.Max(1, purchases.Values.Sum() / 2),
                PurchaseItems = [.. purchases.Keys],
                PurchaseCounts = [.. purchases.Values],
                Factors = new float[factors.Dimensions],
            };
            Bpr.InitItem(ids[i], factors.InitScale, state.Factors);
        }

        return states;
    }

    /// <summary>The items with a state, split by murmur2 of the id (as items are spread over shards): the parallel
    /// run's units of work.</summary>
    private static List<(string Id, ItemGrainState State)>[] Partition(string[] ids, ItemGrainState?[] states, int partitions)
    {
        var byPartition = Enumerable.Range(0, partitions).Select(_ => new List<(string Id, ItemGrainState State)>()).ToArray();
        for (var i = 0; i < states.Length; i++)
        {
            if (states[i] is { } state)
            {
                byPartition[KafkaPartitioner.PartitionFor(ids[i], partitions)].Add((ids[i], state));
            }
        }

        return byPartition;
    }

    private static (int I, int J) Pair(ClusteredWorkload workload, Random random)
    {
        var i = workload.GlobalItem(random);
        var j = random.NextDouble() < workload.HomeShare ? workload.InCluster(random, workload.ClusterOf(i)) : workload.GlobalItem(random);
        return (i, j);
    }

    private static int Add(Dictionary<string, long> row, string other, long weight)
    {
        ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(row, other, out var existed);
        count += weight;
        return existed ? 0 : 1;
    }

    /// <summary>One round's compute, timed step by step. <paramref name="parallel"/>: the per-partition steps
    /// (counts, entries, encoding) run as one task per partition on the thread pool; merging is done once per round,
    /// decoding and building once per silo, so they stay on one thread either way.</summary>
    private static (RebuildTimes Times, Outcome Outcome) Round(List<(string Id, ItemGrainState State)>[] partitions, NeighborhoodOptions options, FactorOptions factors, bool parallel)
    {
        // The previous step's garbage is not this step's cost.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var n = partitions.Length;
        var clock = Stopwatch.StartNew();

        var countParts = new byte[n][];
        ForEachPartition(n, parallel, p => countParts[p] = SnapshotCodec.EncodeCounts(partitions[p].Select(i => SnapshotBuilder.Counts(i.Id, i.State)).ToList()));
        var counts = Lap(clock);

        var global = GlobalCounts.Merge(countParts.Select(SnapshotCodec.DecodeCounts));
        var merge = Lap(clock);

        // The first round of a cluster: no previous entries, so every trend is the item's count.
        var entries = new List<SnapshotItem>[n];
        ForEachPartition(n, parallel, p => entries[p] = partitions[p].Select(i => SnapshotBuilder.Entry(i.Id, i.State, global, null, 0, options, factors)).ToList());
        var entriesTime = Lap(clock);

        var encoded = new byte[n][];
        ForEachPartition(n, parallel, p => encoded[p] = SnapshotCodec.EncodeEntries(entries[p]));
        var encode = Lap(clock);

        var decoded = encoded.SelectMany(SnapshotCodec.DecodeEntries).ToList();
        var decode = Lap(clock);

        var snapshot = RecoSnapshot.Build(1, DateTimeOffset.UtcNow, decoded, options.PopularCount, factors.Dimensions);
        var build = Lap(clock);

        var neighbors = snapshot.Items.Average(e => (double)e.Similar.Length);
        return (new RebuildTimes(counts, merge, entriesTime, encode, decode, build), new Outcome(encoded.Sum(e => (long)e.Length), neighbors));
    }

    private static void ForEachPartition(int partitions, bool parallel, Action<int> body)
    {
        if (parallel)
        {
            Parallel.For(0, partitions, new ParallelOptions { MaxDegreeOfParallelism = partitions }, body);
            return;
        }

        for (var p = 0; p < partitions; p++)
        {
            body(p);
        }
    }

    private static double Lap(Stopwatch clock)
    {
        var seconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        return seconds;
    }

    private static RebuildTimes Median(IEnumerable<RebuildTimes> runs)
    {
        var list = runs.ToList();
        double M(Func<RebuildTimes, double> step) => Math.Round(BenchArgs.Median(list.Select(step)), 4);
        return new RebuildTimes(M(t => t.CountsSeconds), M(t => t.MergeSeconds), M(t => t.EntriesSeconds), M(t => t.EncodeSeconds), M(t => t.DecodeSeconds), M(t => t.BuildSeconds));
    }

    private sealed record Outcome(long EncodedBytes, double MeanNeighbors);
}
