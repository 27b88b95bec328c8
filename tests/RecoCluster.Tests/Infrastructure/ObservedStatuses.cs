using System.Collections.Concurrent;

namespace RecoCluster.Tests.Infrastructure;

/// <summary>
/// Every status the gateway answered to a test's request in this test run, by method and path: the clients of
/// <see cref="TestKeys.Client"/> (every gateway client of the tests) record each response they receive. Read by
/// <c>ObservedStatusesTests</c>, which runs after every other collection and compares what was seen with the
/// OpenAPI document.
/// </summary>
public static class ObservedStatuses
{
    private static readonly ConcurrentDictionary<(string Method, string Path, int Status), int> Seen = new();

    /// <summary>What was seen so far: method (upper case), path without the query, status, and how often.</summary>
    public static IReadOnlyList<(string Method, string Path, int Status, int Count)> Snapshot() =>
        [.. Seen.Select(s => (s.Key.Method, s.Key.Path, s.Key.Status, s.Value))];

    /// <summary>A handler for an <see cref="HttpClient"/> that records each response's status.</summary>
    public static HttpMessageHandler Handler(HttpMessageHandler? inner = null) => new Recorder(inner ?? new SocketsHttpHandler());

    private sealed class Recorder(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri is { } uri)
            {
                Seen.AddOrUpdate((request.Method.Method, uri.AbsolutePath, (int)response.StatusCode), 1, (_, n) => n + 1);
            }

            return response;
        }
    }
}
