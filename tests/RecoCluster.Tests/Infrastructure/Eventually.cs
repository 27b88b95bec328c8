namespace RecoCluster.Tests.Infrastructure;

/// <summary>Polls a condition until it holds or a deadline passes. Deadlines are generous upper bounds for a
/// loaded 2-core machine, not performance claims: performance is measured in benchmarks.</summary>
public static class Eventually
{
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, TimeSpan deadline, string what)
        where T : class
    {
        var started = DateTime.UtcNow;
        Exception? last = null;
        while (DateTime.UtcNow - started < deadline)
        {
            try
            {
                var value = await probe();
                if (value is not null)
                {
                    return value;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException or System.Data.Common.DbException or Orleans.Runtime.OrleansException)
            {
                last = ex;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{what} did not happen within {deadline.TotalSeconds:0.#} s" + (last is null ? string.Empty : $" (last error: {last.Message})"));
    }

    public static async Task TrueAsync(Func<Task<bool>> probe, TimeSpan deadline, string what) =>
        await ValueAsync<object>(async () => await probe() ? new object() : null, deadline, what);
}
