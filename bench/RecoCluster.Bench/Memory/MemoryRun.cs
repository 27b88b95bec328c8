using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.CompilerServices;
using RecoCluster.Bench.Queries;
using RecoCluster.Bench.Synthetic;
using RecoCluster.Cluster;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using static RecoCluster.Bench.BenchText;
using RecoCluster.Grains.Model;

namespace RecoCluster.Bench.Memory;

/// <summary>
/// Memory per user and per co-occurrence entry, on the engine's own classes (no Kafka, no database): the issue's
/// synthetic workload (<see cref="ClusteredWorkload"/>) is applied through <see cref="UserModel.Apply(ClickEvent, IItemDeltaSink, FactorTable?)"/>
/// (window 20, factor model at dimension 32 against a table of every item) into a <see cref="DeltaCombiner"/>,
/// whose drains are applied to <see cref="ItemModel"/>s as a silo's shuffle delivers them. Then the heap is
/// measured after full collections: filled, without the user grains, without the item grains too. What each
/// drop freed is that side's memory.
/// </summary>
/// <remarks>
/// Strings are owned as in a silo: every event's item id is a fresh string (the JSON parser makes one per event,
/// and a window entry keeps the one of the event that put the item there), and the item side's row keys are
/// the strings decoded from the shuffle batch that first brought them. Sharing one string per item would make the
/// figures smaller than what a silo holds.
/// </remarks>
public static class MemoryRun
{
    private const int Seed = 20261126;

    /// <summary>Runs the benchmark. Options (defaults): <c>--users</c> 200,000 (the issue's million takes too long
    /// for the suite; the report projects the user side to it); <c>--items</c> 100,000; <c>--events-per-user</c>
    /// 20; <c>--clusters</c> 1,000; <c>--home-share</c> 0.8; <c>--batch-events</c> 10,000; <c>--shuffle</c> copy
    /// (or codec: through the shuffle's JSON, about three times slower, same memory); <c>--max-heap-gib</c> 16
    /// (stop rather than push the machine into swap or the OOM killer); <c>--output</c> bench/results.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var users = BenchArgs.Int(args, "--users", 200_000);
        var items = BenchArgs.Int(args, "--items", 100_000);
        var eventsPerUser = BenchArgs.Int(args, "--events-per-user", 20);
        var clusters = BenchArgs.Int(args, "--clusters", 1_000);
        var homeShare = BenchArgs.Double(args, "--home-share", 0.8);
        var batchEvents = BenchArgs.Int(args, "--batch-events", 10_000);
        var shuffle = BenchArgs.String(args, "--shuffle") ?? "copy";
        var maxHeapGiB = BenchArgs.Double(args, "--max-heap-gib", 16);
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        if (users < 1 || items < 2 || eventsPerUser < 1 || clusters < 1 || clusters > items || batchEvents < 1 || shuffle is not ("copy" or "codec"))
        {
            Console.Error.WriteLine("memory: need --users ≥ 1, --items ≥ 2, --events-per-user ≥ 1, 1 ≤ --clusters ≤ --items, --batch-events ≥ 1, --shuffle copy or codec");
            return 2;
        }

        var options = new UserGrainOptions();
        const int partitions = 8; // the default partition count of the topics (Reco:Kafka:Partitions)
        var command = BenchArgs.Command("memory", [
            "--users", Invariant(users), "--items", Invariant(items), "--events-per-user", Invariant(eventsPerUser),
            "--clusters", Invariant(clusters), "--home-share", Invariant(homeShare), "--batch-events", Invariant(batchEvents), "--shuffle", shuffle]);
        var machine = MachineInfo.Current();
        var loadAtStart = MachineInfo.LoadAverage();
        Console.WriteLine($"memory: {command}");
        Console.WriteLine($"memory: {machine}, load average {loadAtStart}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC");

        var workload = new ClusteredWorkload(users, items, clusters, homeShare);
        var baseline = Baseline.Create(items, options.Factors);
        var heapBefore = Heap();
        var population = new Population();
        var clock = Stopwatch.StartNew();
        var events = Fill(population, workload, baseline, options, eventsPerUser, batchEvents, partitions, shuffle == "codec", (long)(maxHeapGiB * (1L << 30)));
        var fillSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"memory: {events:N0} events applied in {fillSeconds:N0} s ({events / fillSeconds:N0} events/s, item side included)");

        var userStats = UserStats(population);
        var itemStats = ItemStats(population);
        var heapFilled = Heap();
        population.DropUsers();
        var heapWithoutUsers = Heap();
        population.DropItems();
        var heapWithoutItems = Heap();
        GC.KeepAlive(baseline);

        var userHeap = heapFilled - heapWithoutUsers;
        var itemHeap = heapWithoutUsers - heapWithoutItems;
        var entries = itemStats.Entries + itemStats.PurchaseEntries;
        var bytesPerUser = (double)userHeap / users;
        var figures = new MemoryFigures(
            events,
            Math.Round(fillSeconds, 1),
            Math.Round(userStats.MeanWindow, 2),
            userStats.WithFactors,
            itemStats.Grains,
            itemStats.Entries,
            itemStats.PurchaseEntries,
            itemStats.LongestRow,
            heapBefore,
            heapFilled,
            userHeap,
            itemHeap,
            heapWithoutItems - heapBefore,
            Math.Round(bytesPerUser, 1),
            entries > 0 ? Math.Round((double)itemHeap / entries, 1) : 0,
            Math.Round((double)userStats.WindowStringBytes / users, 1),
            entries > 0 ? Math.Round((double)itemStats.KeyStringBytes / entries, 1) : 0,
            Math.Round((double)userStats.StoredBytes / users, 1),
            itemStats.Grains > 0 ? Math.Round((double)itemStats.StoredBytes / itemStats.Grains, 1) : 0,
            entries > 0 ? Math.Round((double)itemStats.StoredBytes / entries, 1) : 0,
            Math.Round(bytesPerUser * MemoryResults.TargetUsers / (1L << 30), 2));
        var results = new MemoryResults(
            "memory",
            DateTimeOffset.UtcNow,
            command,
            machine,
            new LoadAverages(loadAtStart, MachineInfo.LoadAverage()),
            new MemorySettings(users, items, eventsPerUser, clusters, homeShare, options.WindowSize, options.Factors.Dimensions, batchEvents, partitions, shuffle, GCSettings.IsServerGC),
            figures);

        return await BenchOutput.WriteAsync("memory", output, MemoryResults.FileName, results, MemoryResults.Json, MemoryTables.Markdown(results));
    }

    /// <summary>Live bytes after full, blocking collections (finalizers run in between).</summary>
    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    // Not inlined, and everything it builds is reachable only from the population: the measurements drop the
    // grains by clearing its fields, and no local of a caller may keep them alive.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Fill(Population population, ClusteredWorkload workload, Baseline baseline, UserGrainOptions options, int eventsPerUser, int batchEvents, int partitions, bool codec, long maxHeapBytes)
    {
        var users = workload.Users;
        var userIds = new string[users];
        var grains = new UserModel[users];
        for (var u = 0; u < users; u++)
        {
            userIds[u] = ClusteredWorkload.UserId(u);
            grains[u] = new UserModel(userIds[u], options);
        }

        var itemGrains = new Dictionary<string, ItemModel>(StringComparer.Ordinal);
        population.Set(userIds, grains, itemGrains);

        var combiner = new DeltaCombiner();
        var random = new Random(Seed);
        // Every event within one UTC day: inside the 24 h co-occurrence window, and one day of the daily cap
        // (500 per user, far above what a user gets here).
        var dayStart = new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var total = (long)users * eventsPerUser;
        var msPerEvent = 86_000_000.0 / total;
        var clock = Stopwatch.StartNew();
        var nextReport = TimeSpan.FromSeconds(15);
        long applied = 0;
        // Users take turns, one event each per round: a stream where every user's events are spread over the day,
        // as they would be in a live log.
        for (var round = 0; round < eventsPerUser; round++)
        {
            for (var u = 0; u < users; u++)
            {
                var item = workload.NextItem(random, u);
                // A fresh string, as the silo's JSON parser makes for every event.
                var itemId = new string(baseline.ItemIds[item].AsSpan());
                var evt = new ClickEvent(userIds[u], itemId, ClusteredWorkload.NextType(random), DateTimeOffset.FromUnixTimeMilliseconds(dayStart + (long)(applied * msPerEvent)));
                grains[u].Apply(evt, combiner, baseline.Factors);
                applied++;
                if (applied % batchEvents == 0)
                {
                    Shuffle(combiner, itemGrains, partitions, applied, options.Factors.InitScale, codec);
                }

                if ((applied & 0xFFFF) == 0 && clock.Elapsed > nextReport)
                {
                    nextReport = clock.Elapsed + TimeSpan.FromSeconds(15);
                    var heap = GC.GetTotalMemory(forceFullCollection: false);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {applied:N0} of {total:N0} events, {clock.Elapsed.TotalSeconds:N0} s, heap {heap / (double)(1L << 30):N2} GiB, {itemGrains.Count:N0} item grains"));
                    if (heap > maxHeapBytes)
                    {
                        throw new InvalidOperationException($"the heap reached {heap / (double)(1L << 30):N1} GiB, above --max-heap-gib; run with fewer --users (the per-user and per-entry figures hold at smaller sizes)");
                    }
                }
            }
        }

        Shuffle(combiner, itemGrains, partitions, applied, options.Factors.InitScale, codec);
        combiner.Clear();
        return applied;
    }

    // The silo's path from the user side to the item side: the combiner's drain grouped by item partition, then
    // each item's delta applied to its grain. Either through the shuffle's own codec (JSON encode, decode), or by
    // copying each delta with fresh strings. Both leave the item side holding exactly what a silo's does (its ids
    // and row keys are strings of its own, as decoding makes them, never the user side's); the copy is about
    // three times faster.
    private static void Shuffle(DeltaCombiner combiner, Dictionary<string, ItemModel> itemGrains, int partitions, long batchEnd, float initScale, bool codec)
    {
        _ = combiner.Drain(
            item => KafkaPartitioner.PartitionFor(item, partitions),
            (_, deltas) =>
            {
                var items = codec ? ItemCodec.DecodeBatch(ItemCodec.Encode(new ItemDeltaBatch(0, batchEnd, deltas))).Items : deltas.Select(Copy);
                foreach (var delta in items)
                {
                    if (!itemGrains.TryGetValue(delta.ItemId, out var grain))
                    {
                        itemGrains[delta.ItemId] = grain = new ItemModel(delta.ItemId, null, initScale);
                    }

                    grain.Apply(delta);
                }

                return 0;
            });
    }

    private static ItemDelta Copy(ItemDelta delta) =>
        new(new string(delta.ItemId.AsSpan()), delta.Count, CopyRow(delta.Row), delta.PurchaseCount, delta.PurchaseRow is null ? null : CopyRow(delta.PurchaseRow), delta.FactorDelta);

    private static Dictionary<string, long> CopyRow(IReadOnlyDictionary<string, long> row)
    {
        var copy = new Dictionary<string, long>(row.Count, StringComparer.Ordinal);
        foreach (var (key, count) in row)
        {
            copy.Add(new string(key.AsSpan()), count);
        }

        return copy;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (double MeanWindow, long WithFactors, long WindowStringBytes, long StoredBytes) UserStats(Population population)
    {
        long windows = 0, withFactors = 0, strings = 0, stored = 0;
        foreach (var grain in population.Users)
        {
            var state = grain.State;
            windows += state.Recent.Count;
            withFactors += state.Factors is null ? 0 : 1;
            foreach (var entry in state.Recent)
            {
                strings += StringBytes(entry.ItemId);
            }

            stored += UserGrainStateCodec.Encode(state).Length;
        }

        return ((double)windows / population.UserIds.Length, withFactors, strings, stored);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (long Grains, long Entries, long PurchaseEntries, long LongestRow, long KeyStringBytes, long StoredBytes) ItemStats(Population population)
    {
        long entries = 0, purchase = 0, longest = 0, strings = 0, stored = 0;
        foreach (var grain in population.Items.Values)
        {
            var state = grain.State;
            entries += state.Row.Count;
            purchase += state.PurchaseRow.Count;
            longest = Math.Max(longest, state.Row.Count);
            foreach (var key in state.Row.Keys)
            {
                strings += StringBytes(key);
            }

            foreach (var key in state.PurchaseRow.Keys)
            {
                strings += StringBytes(key);
            }

            stored += ItemCodec.Encode(state).Length;
        }

        return (population.Items.Count, entries, purchase, longest, strings, stored);
    }

    // A string on 64-bit .NET: object header and method table (16), length (4), UTF-16 characters and a
    // terminating NUL, rounded up to 8 bytes.
    private static long StringBytes(string s) => (22 + (2L * s.Length) + 7) & ~7L;

    /// <summary>What exists before any grain: the item ids and the replicated factor table, which a silo holds
    /// whatever its number of users. Measured in the baseline, not charged to users or items.</summary>
    private sealed class Baseline(string[] itemIds, FactorTable factors)
    {
        public string[] ItemIds { get; } = itemIds;

        public FactorTable Factors { get; } = factors;

        public static Baseline Create(int items, FactorOptions options)
        {
            var ids = new string[items];
            for (var i = 0; i < items; i++)
            {
                ids[i] = ClusteredWorkload.ItemId(i);
            }

            var table = new FactorTable(options.Dimensions, ids.Select(id =>
            {
                var vector = new float[options.Dimensions];
                Bpr.InitItem(id, options.InitScale, vector);
                return KeyValuePair.Create(id, vector);
            }));
            return new Baseline(ids, table);
        }
    }

    /// <summary>The only references to the grains, so that clearing them frees them.</summary>
    private sealed class Population
    {
        private string[]? _userIds;
        private UserModel[]? _users;
        private Dictionary<string, ItemModel>? _items;

        public UserModel[] Users => _users ?? throw new InvalidOperationException("users dropped");

        public string[] UserIds => _userIds ?? throw new InvalidOperationException("users dropped");

        public Dictionary<string, ItemModel> Items => _items ?? throw new InvalidOperationException("items dropped");

        public void Set(string[] userIds, UserModel[] users, Dictionary<string, ItemModel> items)
        {
            _userIds = userIds;
            _users = users;
            _items = items;
        }

        // The ids array goes with the users: the grains hold the same strings, and a silo's grain cache holds a
        // reference per active grain as this array does.
        public void DropUsers()
        {
            _userIds = null;
            _users = null;
        }

        public void DropItems() => _items = null;
    }
}
