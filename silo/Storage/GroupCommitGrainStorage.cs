using System.Data.Common;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace RecoCluster.Silo.Storage;

/// <summary>
/// Orleans grain storage over the project's database (SQLite or PostgreSQL) that commits concurrent writes
/// together: every write waiting when the writer is free goes into one transaction, so a thousand writes cost one
/// commit (one fsync), not a thousand. Written for per-user and per-item grains, which wrote a row each per batch;
/// only the neighborhood round grain stores through it now (users and items are in GrainStore's own tables).
/// </summary>
/// <remarks>
/// Why not Orleans' AdoNet provider: it commits every write alone (one transaction each; about 1,260 writes/s on
/// PostgreSQL and 400/s on SQLite on this kind of machine, in the environment notes), below what one ingress batch
/// asked for when each user was a grain. ETags are the rows' versions, checked per write inside the shared
/// transaction, so a conflict refuses only the grain that had it (an <see cref="InconsistentStateException"/>) and
/// the rest of the group commits.
/// States are encoded by <see cref="GrainStateSerializer"/> (Orleans' binary serializer).
/// </remarks>
public sealed partial class GroupCommitGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    /// <summary>The most writes one transaction takes; the rest wait for the next.</summary>
    private const int MaxGroup = 1_000;

    private readonly GrainStore _store;
    private readonly GrainStateSerializer _serializer;
    private readonly ILogger<GroupCommitGrainStorage> _logger;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _writer = Task.CompletedTask;
    private int _disposed;

    public GroupCommitGrainStorage(GrainStore store, GrainStateSerializer serializer, ILogger<GroupCommitGrainStorage> logger)
    {
        _store = store;
        _serializer = serializer;
        _logger = logger;
    }

    /// <summary>Transactions committed, and writes in them: their ratio is the mean group size.</summary>
    public long Commits { get; private set; }

    public long Writes { get; private set; }

    // The schema is migrated before (SchemaMigration, at RuntimeInitialize).
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe<GroupCommitGrainStorage>(ServiceLifecycleStage.ApplicationServices, _ => { Start(); return Task.CompletedTask; }, StopAsync);

    internal void Start() => _writer = Task.Run(WriteLoopAsync, CancellationToken.None);

    private async Task StopAsync(CancellationToken ct)
    {
        _queue.Writer.TryComplete();
        await _writer.WaitAsync(ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        StoredGrainState? stored;
        try
        {
            stored = await _store.ReadGrainStateAsync(stateName, grainId.ToString(), CancellationToken.None);
        }
        catch (DbException e)
        {
            throw StorageUnavailable(e, $"reading the {stateName} state of {grainId}");
        }

        if (stored is { } row)
        {
            grainState.State = _serializer.Decode<T>(row.Payload, $"{stateName} state of {grainId}");
            grainState.ETag = row.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var payload = _serializer.Encode(grainState.State);
        var version = await EnqueueAsync(new GrainStateWrite(stateName, grainId.ToString(), ParseETag(grainState.ETag), payload), grainState.ETag);
        grainState.ETag = version!.Value.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        await EnqueueAsync(new GrainStateWrite(stateName, grainId.ToString(), ParseETag(grainState.ETag), null), grainState.ETag);
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }

    private async Task<long?> EnqueueAsync(GrainStateWrite write, string? etag)
    {
        var pending = new PendingWrite(write);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("grain storage is stopped");
        }

        var result = await pending.Completion.Task;
        if (result.Conflict)
        {
            throw new InconsistentStateException(
                $"{write.StateName} state of {write.GrainId} was changed by another activation (expected version {etag ?? "none"})",
                null,
                etag,
                null);
        }

        return result.Version;
    }

    private async Task WriteLoopAsync()
    {
        var group = new List<PendingWrite>(MaxGroup);
        var writes = new List<GrainStateWrite>(MaxGroup);
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            group.Clear();
            writes.Clear();
            while (group.Count < MaxGroup && _queue.Reader.TryRead(out var next))
            {
                group.Add(next);
                writes.Add(next.Write);
            }

            try
            {
                var results = await _store.WriteGrainStatesAsync(writes, _stopping.Token);
                Commits++;
                Writes += group.Count;
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Completion.TrySetResult(results[i]);
                }
            }
            catch (Exception e)
            {
                // Nothing of the group is stored: every grain in it fails its write and keeps (or reloads) what
                // it had, and its caller retries.
                LogGroupFailed(e, group.Count);
                var failure = e is DbException db ? StorageUnavailable(db, $"writing a group of {group.Count} grain states") : e;
                foreach (var pending in group)
                {
                    pending.Completion.TrySetException(failure);
                }
            }
        }
    }

    /// <summary>What a grain's caller gets when the database fails: the drivers' exceptions have no Orleans codec,
    /// so one thrown across silos (or to a client) would arrive as a serialization failure instead of the reason.</summary>
    internal static OrleansException StorageUnavailable(DbException e, string what) =>
        new($"the database failed {what}: {e.GetType().Name}: {e.Message}");

    private static long? ParseETag(string? etag) =>
        etag is null ? null : long.Parse(etag, NumberStyles.None, CultureInfo.InvariantCulture);

    // Orleans registers a storage both as itself and as a lifecycle participant, so the container disposes it twice.
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Count} grain states failed; each write fails and is retried by its caller")]
    private partial void LogGroupFailed(Exception exception, int count);

    private sealed class PendingWrite(GrainStateWrite write)
    {
        public GrainStateWrite Write { get; } = write;

        public TaskCompletionSource<GrainStateWriteResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
