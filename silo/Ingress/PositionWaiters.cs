namespace RecoCluster.Silo.Ingress;

/// <summary>
/// Reads of an ingress waiting for an offset of its partition to be reached (read-your-writes: applied to the users
/// in memory, or committed to storage). Used inside the grain's turns only (one thread at a time); the waits are
/// interleaved calls' awaits, woken by <see cref="Advance"/> in the turn that moves the offset.
/// </summary>
internal sealed class PositionWaiters(TimeProvider time)
{
    private readonly List<(long Position, TaskCompletionSource Reached)> _waiting = [];

    /// <summary>Whether <paramref name="position"/> is reached (every record below it), waiting for it at most
    /// <paramref name="maxWait"/>; <paramref name="current"/> gives the offset reached so far.</summary>
    public async Task<bool> WaitAsync(long position, TimeSpan maxWait, Func<long> current)
    {
        if (position <= current())
        {
            return true;
        }

        if (maxWait <= TimeSpan.Zero)
        {
            return false;
        }

        // Continuations run asynchronously, so Advance never runs a waiter's code inside its own loop.
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting.Add((position, reached));
        try
        {
            await reached.Task.WaitAsync(maxWait, time);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            return position <= current();
        }
        finally
        {
            _waiting.RemoveAll(w => ReferenceEquals(w.Reached, reached));
        }
    }

    /// <summary>Wakes the waits whose position is at or below <paramref name="reached"/>.</summary>
    public void Advance(long reached)
    {
        foreach (var (position, waiter) in _waiting)
        {
            if (position <= reached)
            {
                waiter.TrySetResult();
            }
        }
    }

    /// <summary>Ends every wait now (they answer whether their position was reached meanwhile).</summary>
    public void CancelAll()
    {
        foreach (var (_, waiter) in _waiting)
        {
            waiter.TrySetCanceled(CancellationToken.None);
        }
    }
}
