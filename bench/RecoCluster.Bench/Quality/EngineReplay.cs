using RecoCluster.Grains;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Grains.Model;

namespace RecoCluster.Bench.Quality;

/// <summary>
/// The cluster's engine in one process, built from the same classes the silos run: a <see cref="UserModel"/> per
/// user, a <see cref="DeltaCombiner"/> per micro-batch drained into <see cref="ItemModel"/>s, and neighborhood
/// rounds (<see cref="SnapshotBuilder"/> phase 1 and 2, <see cref="RecoSnapshot.Build"/>) that publish the
/// snapshot serving and the next factor steps read. What it leaves out is only transport: Kafka, the grain calls
/// and the database change no number.
/// </summary>
public sealed class EngineReplay
{
    private readonly UserGrainOptions _userOptions;
    private readonly NeighborhoodOptions _neighborhoods;
    private readonly int _batchEvents;
    private readonly Dictionary<string, UserModel> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ItemModel> _items = new(StringComparer.Ordinal);
    private readonly ItemIdTable _ids = new();
    private readonly DeltaCombiner _combiner;

    private int _pending;
    private DateTimeOffset _lastRoundAt;

    /// <param name="userOptions">The user models' settings (window, weights, factor model).</param>
    /// <param name="neighborhoods">The rounds' settings.</param>
    /// <param name="batchEvents">Events per micro-batch.</param>
    public EngineReplay(UserGrainOptions userOptions, NeighborhoodOptions neighborhoods, int batchEvents)
    {
        _userOptions = userOptions;
        _neighborhoods = neighborhoods;
        _batchEvents = batchEvents;
        _combiner = new DeltaCombiner(_ids);
    }

    /// <summary>Users whose model holds a factor vector (took at least one BPR step).</summary>
    public int UsersWithFactors => _users.Values.Count(u => u.HasFactors);

    /// <summary>The snapshot serving reads (the last complete round's).</summary>
    public RecoSnapshot Snapshot { get; private set; } = RecoSnapshot.Empty;

    public int Rounds { get; private set; }

    /// <summary>Applies one purchase to its user's model; every <c>batchEvents</c> events the combined deltas go to
    /// the item models, as an ingress's batch goes to the item shards. The factor step reads the current snapshot's
    /// factors.</summary>
    public void Apply(RetailLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        Apply(new ClickEvent(line.UserId, line.ItemId, EventType.Purchase, line.At));
    }

    /// <summary>Applies one event to its user's model, as <see cref="Apply(RetailLine)"/> does for a purchase.</summary>
    public void Apply(ClickEvent evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        if (!_users.TryGetValue(evt.UserId, out var user))
        {
            _users[evt.UserId] = user = new UserModel(evt.UserId, _userOptions, _ids);
        }

        user.Apply(evt, _combiner, Snapshot.Factors);
        if (++_pending >= _batchEvents)
        {
            Flush();
        }
    }

    /// <summary>What serving reads from the user's model; an unknown user has an empty window and no vector.</summary>
    public RecommendationInput InputFor(string userId) =>
        _users.TryGetValue(userId, out var user) ? user.GetRecommendationInput() : new RecommendationInput(userId, [], null);

    /// <summary>
    /// A neighborhood round cut at <paramref name="at"/>: every pending delta reaches its item model first (the
    /// cluster's round reads what the item shards have stored), then phase 1 gathers every item's counts, and
    /// phase 2 builds every item's entry from its state, the global counts and its entry in the previous snapshot.
    /// Phase 2 is per item and pure, so here it runs on every core; the round grain computes it page by page on
    /// one thread, which changes the time, not the result.
    /// </summary>
    public void Round(DateTimeOffset at)
    {
        Flush();
        var items = _items.Values.ToArray();
        var states = Array.ConvertAll(items, i => i.ToState());
        var global = GlobalCounts.Merge([items.Select((i, k) => SnapshotBuilder.Counts(i.ItemId, states[k]))]);
        var previous = Snapshot;
        var seconds = Rounds == 0 ? 0 : (at - _lastRoundAt).TotalSeconds;
        var entries = new SnapshotItem[items.Length];
        Parallel.For(0, items.Length, i =>
            entries[i] = SnapshotBuilder.Entry(items[i].ItemId, states[i], global, previous.Find(items[i].ItemId), seconds, _neighborhoods, _userOptions.Factors));
        Rounds++;
        _lastRoundAt = at;
        Snapshot = RecoSnapshot.Build(Rounds, at, entries, _neighborhoods.PopularCount, _userOptions.Factors.Dimensions);
    }

    private void Flush()
    {
        _pending = 0;
        if (_combiner.IsEmpty)
        {
            return;
        }

        foreach (var delta in _combiner.Drain())
        {
            if (!_items.TryGetValue(delta.ItemId, out var item))
            {
                _items[delta.ItemId] = item = new ItemModel(delta.ItemId, _ids, factorInitScale: _userOptions.Factors.InitScale);
            }

            item.Apply(delta);
        }
    }
}
