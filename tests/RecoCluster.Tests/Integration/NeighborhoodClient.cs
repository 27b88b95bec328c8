using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RecoCluster.Grains.Algorithms;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>What tests do with neighborhood snapshots from the outside: rebuild, wait for every silo to serve a
/// version, and compare what is served with a batch computation from the separate recount.</summary>
public static class NeighborhoodClient
{
    /// <summary>The cluster's settings the batch computation must use (the default configuration): K neighbors by
    /// the log-likelihood ratio, no shrinkage.</summary>
    public const int K = 50;

    /// <summary>Runs a round through the gateway; returns the new version once every live silo serves it.</summary>
    public static async Task<long> RebuildAsync(this IClusterUnderTest cluster, TimeSpan deadline)
    {
        using var response = await cluster.Gateway.PostAsync(new Uri("/v1/admin/neighborhoods/rebuild", UriKind.Relative), null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"rebuild answered {(int)response.StatusCode}: {body}");
        var version = JsonDocument.Parse(body).RootElement.GetProperty("version").GetInt64();
        await cluster.WaitForVersionAsync(version, deadline);
        return version;
    }

    /// <summary>Waits until every live silo reports serving <paramref name="version"/> or newer.</summary>
    public static async Task WaitForVersionAsync(this IClusterUnderTest cluster, long version, TimeSpan deadline) =>
        await Eventually.TrueAsync(
            async () =>
            {
                var versions = await cluster.ServedVersionsAsync();
                return versions.Count > 0 && versions.All(v => v >= version);
            },
            deadline,
            $"every silo serving snapshot version {version}");

    /// <summary>The snapshot version each live, reachable silo serves.</summary>
    public static async Task<List<long>> ServedVersionsAsync(this IClusterUnderTest cluster)
    {
        using var response = await cluster.Gateway.GetAsync(new Uri("/v1/admin/cluster", UriKind.Relative));
        var admin = await response.Content.ReadFromJsonAsync<JsonElement>();
        var reachable = admin.GetProperty("silos").EnumerateArray().Where(s => s.GetProperty("reachable").GetBoolean());
        return [.. reachable.Select(s => s.GetProperty("serving").GetProperty("snapshotVersion").GetInt64())];
    }

    /// <summary>GETs a recommendation endpoint and returns the answer's JSON (asserting 200).</summary>
    public static Task<JsonElement> GetListAsync(this IClusterUnderTest cluster, string path) => GetListAsync(cluster.Gateway, path);

    /// <summary>GETs an endpoint of <paramref name="gateway"/>, with a read-your-writes position when one is given,
    /// and returns the answer's JSON (asserting 200).</summary>
    public static async Task<JsonElement> GetListAsync(HttpClient gateway, string path, string? position = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (position is not null)
        {
            request.Headers.Add("Reco-Position", position);
        }

        using var response = await gateway.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static async Task<JsonElement> CartAsync(this IClusterUnderTest cluster, IEnumerable<string> items, int count)
    {
        var body = JsonSerializer.Serialize(new { items, count });
        using var response = await cluster.Gateway.PostAsync(new Uri("/v1/recommendations/cart", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"cart answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// Checks, item for item, that the served neighborhoods (similar items) and bought-together lists (cart
    /// complements of a one-item basket) equal a batch computation from the recount of <paramref name="events"/>:
    /// every pair of the recounted rows scored by the same measure (log-likelihood, the default) with the
    /// recounted item counts and total, the best K kept, ties by item id. The cluster must hold exactly these
    /// events (a cluster of its own), since the scores depend on the totals.
    /// </summary>
    public static Task AssertNeighborhoodsEqualRecountAsync(this IClusterUnderTest cluster, IReadOnlyList<ClickEvent> events) =>
        AssertNeighborhoodsEqualRecountAsync(
            events,
            async item => Items(await cluster.GetListAsync($"/v1/items/{Uri.EscapeDataString(item)}/similar?count={K}")),
            async item => Items(await cluster.CartAsync([item], K)));

    /// <summary>The comparison of <see cref="AssertNeighborhoodsEqualRecountAsync(IClusterUnderTest, IReadOnlyList{ClickEvent})"/>,
    /// whichever way the served lists are read: <paramref name="similar"/> gives an item's K similar items,
    /// <paramref name="cart"/> the K complements of a basket of that one item.</summary>
    public static async Task AssertNeighborhoodsEqualRecountAsync(
        IReadOnlyList<ClickEvent> events,
        Func<string, Task<IReadOnlyList<RecommendedItem>>> similar,
        Func<string, Task<IReadOnlyList<RecommendedItem>>> cart)
    {
        ArgumentNullException.ThrowIfNull(similar);
        ArgumentNullException.ThrowIfNull(cart);
        var expected = Recount.Items(events, Recount.TestRule);
        var total = expected.Values.Sum(e => e.Count);
        var purchaseTotal = expected.Values.Sum(e => e.PurchaseCount);
        var compared = 0;
        foreach (var (item, want) in expected.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var batch = Batch(want.Count, want.Row, j => expected.TryGetValue(j, out var x) ? x.Count : 0, total);
            var served = await similar(item);
            Assert.Equal(batch.Select(s => s.ItemId), served.Select(s => s.ItemId));
            for (var i = 0; i < batch.Count; i++)
            {
                // Served scores are rounded to 6 decimals.
                Assert.True(Math.Abs(batch[i].Score - served[i].Score) <= 1e-6, $"{item} → {batch[i].ItemId}: batch {batch[i].Score}, served {served[i].Score}");
            }

            var bought = Batch(want.PurchaseCount, want.PurchaseRow, j => expected.TryGetValue(j, out var x) ? x.PurchaseCount : 0, purchaseTotal);
            var servedBought = (await cart(item)).Where(s => s.Source == "boughtTogether").Select(s => s.ItemId);
            Assert.Equal(bought.Select(s => s.ItemId), servedBought);
            compared += batch.Count + bought.Count;
        }

        Assert.True(compared > 0, "the workload produced no neighbors at all; the comparison would prove nothing");
    }

    private static IReadOnlyList<RecommendedItem> Items(JsonElement list) =>
        list.GetProperty("items").EnumerateArray()
            .Select(i => new RecommendedItem(i.GetProperty("itemId").GetString()!, i.GetProperty("score").GetDouble(), i.GetProperty("reason").GetString()!, i.GetProperty("source").GetString()!, null))
            .ToList();

    // Written out here: every pair, the measure, sort by score descending then id, keep K.
    private static List<Scored> Batch(long countI, IReadOnlyDictionary<string, long> row, Func<string, long> countOf, long total) =>
        row.Select(e => new Scored(e.Key, Similarity.Score(SimilarityMeasure.LogLikelihood, e.Value, countI, countOf(e.Key), total)))
            .Where(s => s.Score > 0)
            .OrderByDescending(s => s.Score)
            .ThenBy(s => s.ItemId, StringComparer.Ordinal)
            .Take(K)
            .ToList();
}
