using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.CompilerServices;
using RecoCluster.Bench.Queries;
using RecoCluster.Bench.Synthetic;
using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;
using static RecoCluster.Bench.BenchText;

namespace RecoCluster.Bench.Memory;

/// <summary>
/// Memory per user and per co-occurrence entry, on the engine's own classes (no Kafka, no database): the issue's
/// synthetic workload (<see cref="ClusteredWorkload"/>) is applied through a <see cref="UserWorkingSet"/>, what a
/// partition's ingress holds of its users (window 20, factor model at dimension 32 against a table of every item),
/// into a <see cref="DeltaCombiner"/>, whose drains are applied to <see cref="ItemModel"/>s, as an item shard
/// applies the batches it is sent; after each drain the batch's users rest packed, as after a stored batch. Then the
/// heap is measured after full collections: filled, without the working set, without the item models too. What each
/// drop freed is that side's memory: for users, their ids, the working set's entries and their packed states.
/// </summary>
/// <remarks>
/// Item ids are held as a silo holds them: every event's item id is a fresh string (the JSON parser makes one per
/// event), and the models keep the numbers of the silo's <see cref="ItemIdTable"/>, which holds one string per
/// item. The table is filled with the catalog before any event, like the replicated factor table, so it is in the
/// baseline and charged to neither side: a silo holds it whatever its number of users.
/// </remarks>
public static class MemoryRun
{
    private const int Seed = 20261126;

    /// <summary>Runs the benchmark. Options (defaults): <c>--users</c> 200,000 (the issue's million takes too long
    /// for the suite; the report projects the user side to it); <c>--items</c> 100,000; <c>--events-per-user</c>
    /// 20; <c>--clusters</c> 1,000; <c>--home-share</c> 0.8; <c>--batch-events</c> 10,000; <c>--max-heap-gib</c> 16
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
        var maxHeapGiB = BenchArgs.Double(args, "--max-heap-gib", 16);
        var output = BenchArgs.String(args, "--output") ?? Path.Combine("bench", "results");
        if (users < 1 || items < 2 || eventsPerUser < 1 || clusters < 1 || clusters > items || batchEvents < 1)
        {
            Console.Error.WriteLine("memory: need --users ≥ 1, --items ≥ 2, --events-per-user ≥ 1, 1 ≤ --clusters ≤ --items, --batch-events ≥ 1");
            return 2;
        }

        var options = new UserGrainOptions();
        var command = BenchArgs.Command("memory", [
            "--users", Invariant(users), "--items", Invariant(items), "--events-per-user", Invariant(eventsPerUser),
            "--clusters", Invariant(clusters), "--home-share", Invariant(homeShare), "--batch-events", Invariant(batchEvents)]);
        var machine = MachineInfo.Current();
        var loadAtStart = MachineInfo.LoadAverage();
        Console.WriteLine($"memory: {command}");
        Console.WriteLine($"memory: {machine}, load average {loadAtStart}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC");

        var workload = new ClusteredWorkload(users, items, clusters, homeShare);
        var baseline = Baseline.Create(items, options.Factors);
        var heapBefore = Heap();
        var population = new Population();
        var clock = Stopwatch.StartNew();
        var events = Fill(population, workload, baseline, options, eventsPerUser, batchEvents, (long)(maxHeapGiB * (1L << 30)));
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
        var entries = itemStats.Entries + itemStats.PurchaseEntries + itemStats.SequentialEntries;
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
            Math.Round((double)userStats.StoredBytes / users, 1),
            itemStats.Grains > 0 ? Math.Round((double)itemStats.StoredBytes / itemStats.Grains, 1) : 0,
            entries > 0 ? Math.Round((double)itemStats.StoredBytes / entries, 1) : 0,
            Math.Round(bytesPerUser * MemoryResults.TargetUsers / (1L << 30), 2),
            itemStats.SequentialEntries);
        var results = new MemoryResults(
            "memory",
            DateTimeOffset.UtcNow,
            command,
            machine,
            new LoadAverages(loadAtStart, MachineInfo.LoadAverage()),
            new MemorySettings(users, items, eventsPerUser, clusters, homeShare, options.WindowSize, options.Factors.Dimensions, batchEvents, GCSettings.IsServerGC),
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
    // models by clearing its fields, and no local of a caller may keep them alive.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Fill(Population population, ClusteredWorkload workload, Baseline baseline, UserGrainOptions options, int eventsPerUser, int batchEvents, long maxHeapBytes)
    {
        var users = workload.Users;
        // What a partition's ingress holds of its users, with room for all of them (none is forgotten).
        var workingSet = new UserWorkingSet(options, baseline.Ids, capacity: users);
        var itemGrains = new Dictionary<string, ItemModel>(StringComparer.Ordinal);
        population.Set(workingSet, itemGrains);

        var combiner = new DeltaCombiner(baseline.Ids);
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
                // Fresh strings, as the silo's JSON parser makes for every event; the working set keeps the user's
                // first one as its key.
                var userId = ClusteredWorkload.UserId(u);
                var itemId = new string(baseline.ItemIds[item].AsSpan());
                var evt = new ClickEvent(userId, itemId, ClusteredWorkload.NextType(random), DateTimeOffset.FromUnixTimeMilliseconds(dayStart + (long)(applied * msPerEvent)));
                if (round == 0)
                {
                    workingSet.Load(userId, stored: null);
                }

                workingSet.Apply(userId, evt, combiner, baseline.Factors);
                applied++;
                if (applied % batchEvents == 0)
                {
                    // The batch's item side to the items, and its users at rest, as the ingress does once a batch
                    // is stored.
                    ToItems(combiner, itemGrains, baseline.Ids, options.Factors.InitScale);
                    workingSet.Stored();
                }

                if ((applied & 0xFFFF) == 0 && clock.Elapsed > nextReport)
                {
                    nextReport = clock.Elapsed + TimeSpan.FromSeconds(15);
                    var heap = GC.GetTotalMemory(forceFullCollection: false);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {applied:N0} of {total:N0} events, {clock.Elapsed.TotalSeconds:N0} s, heap {heap / (double)(1L << 30):N2} GiB, {itemGrains.Count:N0} item models"));
                    if (heap > maxHeapBytes)
                    {
                        throw new InvalidOperationException($"the heap reached {heap / (double)(1L << 30):N1} GiB, above --max-heap-gib; run with fewer --users (the per-user and per-entry figures hold at smaller sizes)");
                    }
                }
            }
        }

        ToItems(combiner, itemGrains, baseline.Ids, options.Factors.InitScale);
        workingSet.Stored();
        combiner.Clear();
        return applied;
    }

    // The ingress's path from the user side to the item side: the combiner's drain, one delta per item, applied to
    // its item model.
    private static void ToItems(DeltaCombiner combiner, Dictionary<string, ItemModel> itemGrains, ItemIdTable ids, float initScale)
    {
        foreach (var delta in combiner.Drain())
        {
            if (!itemGrains.TryGetValue(delta.ItemId, out var grain))
            {
                itemGrains[delta.ItemId] = grain = new ItemModel(delta.ItemId, ids, null, initScale);
            }

            grain.Apply(delta);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (double MeanWindow, long WithFactors, long StoredBytes) UserStats(Population population)
    {
        long windows = 0, withFactors = 0, stored = 0;
        var users = population.Users;
        for (var u = 0; u < users.Count; u++)
        {
            if (!users.TryGet(ClusteredWorkload.UserId(u), out var grain) || grain is null)
            {
                throw new InvalidOperationException($"user {u} is not in the working set");
            }

            // One read of the resting user, not one per figure: each read of a packed user unpacks it.
            var state = grain.ToState();
            windows += state.Recent.Length;
            withFactors += state.Factors is null ? 0 : 1;
            stored += UserGrainStateCodec.Encode(state).Length;
        }

        return ((double)windows / users.Count, withFactors, stored);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (long Grains, long Entries, long PurchaseEntries, long SequentialEntries, long LongestRow, long StoredBytes) ItemStats(Population population)
    {
        long entries = 0, purchase = 0, sequential = 0, longest = 0, stored = 0;
        foreach (var grain in population.Items.Values)
        {
            entries += grain.RowLength;
            purchase += grain.PurchaseRowLength;
            sequential += grain.NextRowLength;
            longest = Math.Max(longest, grain.RowLength);
            stored += ItemGrainStateCodec.Encode(grain).Length;
        }

        return (population.Items.Count, entries, purchase, sequential, longest, stored);
    }

    /// <summary>What exists before any model: the item ids, the silo's table of their numbers and the replicated
    /// factor table, which a silo holds whatever its number of users. Measured in the baseline, not charged to users
    /// or items.</summary>
    private sealed class Baseline(string[] itemIds, ItemIdTable ids, FactorTable factors)
    {
        public string[] ItemIds { get; } = itemIds;

        public ItemIdTable Ids { get; } = ids;

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
            var numbers = new ItemIdTable();
            foreach (var id in ids)
            {
                numbers.Intern(id);
            }

            return new Baseline(ids, numbers, table);
        }
    }

    /// <summary>The only references to the models, so that clearing them frees them.</summary>
    private sealed class Population
    {
        private UserWorkingSet? _users;
        private Dictionary<string, ItemModel>? _items;

        public UserWorkingSet Users => _users ?? throw new InvalidOperationException("users dropped");

        public Dictionary<string, ItemModel> Items => _items ?? throw new InvalidOperationException("items dropped");

        public void Set(UserWorkingSet users, Dictionary<string, ItemModel> items)
        {
            _users = users;
            _items = items;
        }

        // The working set holds the users' ids (its keys), their entries and their packed states: what a
        // partition's ingress frees when it forgets them.
        public void DropUsers() => _users = null;

        public void DropItems() => _items = null;
    }
}
