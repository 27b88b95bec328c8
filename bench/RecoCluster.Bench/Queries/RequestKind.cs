using System.Net.Http.Headers;
using System.Text;

namespace RecoCluster.Bench.Queries;

/// <summary>
/// One kind of request the load generator sends: a method and a pool of pre-built targets (and bodies), so the
/// scheduler thread only picks one and builds a message. Pools are drawn from the <see cref="Workload"/> with a
/// fixed seed, so every run asks about the same users and items.
/// </summary>
public sealed class RequestKind
{
    private const int PoolSize = 4096;

    private readonly Uri[] _targets;
    private readonly byte[][]? _bodies;
    private int _next;

    private RequestKind(string name, HttpMethod method, Uri[] targets, byte[][]? bodies)
    {
        Name = name;
        Method = method;
        _targets = targets;
        _bodies = bodies;
    }

    public string Name { get; }

    public HttpMethod Method { get; }

    /// <summary>Every kind the bench knows, in report order; <c>bare</c> is the ceiling.</summary>
    public static IReadOnlyList<string> Known { get; } = ["recommendations", "similar", "cart", "user", "bare"];

    public static IReadOnlyList<string> Default { get; } = ["recommendations", "similar", "cart", "bare"];

    public static RequestKind Create(string name, Workload workload, Uri gateway, Uri bare)
    {
        ArgumentNullException.ThrowIfNull(workload);
        // Seeded per kind (HashCode is randomized per process, so not that): the same targets in every run.
        var random = new Random(20261125 + Known.ToList().IndexOf(name));
        Uri[] Targets(Uri root, Func<string> path) => [.. Enumerable.Range(0, PoolSize).Select(_ => new Uri(root, path()))];
        return name switch
        {
            "recommendations" => new(name, HttpMethod.Get, Targets(gateway, () => $"/v1/users/{Workload.UserId(workload.UniformUser(random))}/recommendations?count=10"), null),
            "similar" => new(name, HttpMethod.Get, Targets(gateway, () => $"/v1/items/{Workload.ItemId(workload.ZipfItem(random))}/similar?count=10"), null),
            "cart" => new(
                name,
                HttpMethod.Post,
                Targets(gateway, () => "/v1/recommendations/cart"),
                [.. Enumerable.Range(0, PoolSize).Select(_ => Encoding.UTF8.GetBytes(
                    $$"""{"items":["{{Workload.ItemId(workload.ZipfItem(random))}}","{{Workload.ItemId(workload.ZipfItem(random))}}"],"count":10}"""))]),
            "user" => new(name, HttpMethod.Get, Targets(gateway, () => $"/v1/users/{Workload.UserId(workload.UniformUser(random))}"), null),
            "bare" => new(name, HttpMethod.Get, Targets(bare, () => "/v1/bare"), null),
            _ => throw new ArgumentException($"unknown request kind '{name}'; known: {string.Join(", ", Known)}", nameof(name)),
        };
    }

    /// <summary>The next request. Only the scheduler thread calls this.</summary>
    public HttpRequestMessage Next()
    {
        var i = _next;
        _next = (i + 1) % _targets.Length;
        var request = new HttpRequestMessage(Method, _targets[i]);
        // Every kind carries the storefront's key, the bare endpoint too (it ignores it), so the requests differ
        // only in what the server does with them.
        request.Headers.Add("X-Api-Key", QueryCluster.ReadKey);
        if (_bodies is not null)
        {
            request.Content = new ByteArrayContent(_bodies[i]);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        return request;
    }
}
