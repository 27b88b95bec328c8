using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RecoCluster.Gateway.Serving;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>A two-silo Orleans cluster of its own (the similarity scores depend on the totals, so no other test may add
/// events to it), with rounds only on request, loaded once with a known workload.</summary>
public sealed class NeighborhoodClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    /// <summary>Every event the cluster holds, in production order: the workload the class starts from (purchases
    /// are a quarter of it), then what tests add. Scores depend on every event, so tests that add one record it.</summary>
    public List<ClickEvent> Events { get; } = ClusterClient.Events(seed: 11, count: 4_000, users: 300, items: 120, userPrefix: "nb");

    public async Task InitializeAsync()
    {
        Cluster = await TestCluster.StartAsync(
            TestDatabases.NewSqlite(),
            silos: 2,
            overrides: new Dictionary<string, string?>
            {
                ["Reco:Neighborhoods:RoundIntervalSeconds"] = "0",
                // Read-your-writes waits up to this long: far more than applying a click takes, so that the tests
                // that expect every answer to show the click hold on a loaded machine (and below the deadline).
                ["Reco:Gateway:ReadYourWritesWaitMs"] = "8000",
                ["Reco:Gateway:RouteDeadlineMs"] = "10000",
            });
        await Cluster.ProduceAsync(Events);
        await Cluster.AssertItemsEqualRecountAsync(Events, TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[Collection("cluster")]
public sealed class NeighborhoodTests(NeighborhoodClusterFixture fixture) : IClassFixture<NeighborhoodClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Served_neighborhoods_and_bought_together_lists_equal_a_batch_computation_from_the_recount()
    {
        await _cluster.AssertItemsEqualRecountAsync(fixture.Events, Deadline);
        var version = await _cluster.RebuildAsync(Deadline);
        Assert.True(version >= 1);
        await _cluster.AssertNeighborhoodsEqualRecountAsync(fixture.Events);
    }

    [Fact]
    public async Task Each_rebuild_publishes_a_higher_version_that_every_silo_serves()
    {
        var first = await _cluster.RebuildAsync(Deadline);
        var second = await _cluster.RebuildAsync(Deadline);
        Assert.True(second > first, $"{second} after {first}");
        Assert.All(await _cluster.ServedVersionsAsync(), v => Assert.Equal(second, v));

        var similar = await _cluster.GetListAsync("/v1/items/sku-0/similar?count=5");
        Assert.Equal(second, similar.GetProperty("snapshotVersion").GetInt64());
    }

    [Fact]
    public async Task A_new_event_shows_in_the_users_recommendations_within_a_second()
    {
        await _cluster.RebuildAsync(Deadline);
        var user = "nb-1";
        var before = await _cluster.GetListAsync($"/v1/users/{user}/recommendations?count=20");
        Assert.False(before.GetProperty("coldStart").GetBoolean());
        var target = before.GetProperty("items").EnumerateArray().First().GetProperty("itemId").GetString()!;

        // The user views the top recommendation: it leaves the list (seen), and its neighbors come in "because
        // you viewed" it. Timed from the gateway's 202 (Kafka has it) to the first answer that reflects it.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        fixture.Events.Add(new ClickEvent(user, target, EventType.View, now));
        var body = JsonSerializer.Serialize(new { userId = user, itemId = target, type = "view", timestamp = now.ToUnixTimeMilliseconds() });
        using var post = await _cluster.Gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var clock = Stopwatch.StartNew();
        JsonElement after;
        do
        {
            after = await _cluster.GetListAsync($"/v1/users/{user}/recommendations?count=20");
        }
        while (after.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("itemId").GetString() == target) && clock.Elapsed < TimeSpan.FromSeconds(5));

        var reflectedAfter = clock.Elapsed;
        Assert.DoesNotContain(after.GetProperty("items").EnumerateArray(), i => i.GetProperty("itemId").GetString() == target);
        Assert.Contains(after.GetProperty("items").EnumerateArray(), i => Follows(i, target));
        Assert.True(reflectedAfter < TimeSpan.FromSeconds(1), $"the event showed after {reflectedAfter.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_click_is_in_the_next_answer_through_the_gateway_that_took_it_and_through_another_that_carries_its_position()
    {
        await _cluster.RebuildAsync(Deadline);
        var user = "nb-2";
        using var other = await _cluster.StartOtherGatewayAsync();

        // No waiting and no polling: the first answer after the 202 must show the click. The gateway that took it
        // waits for what it produced; another gateway waits for the position the 202 carried.
        var first = await TopItemAsync(_cluster.Gateway, user);
        var (position, _) = await ClickAsync(_cluster.Gateway, user, first);
        var same = await _cluster.GetListAsync($"/v1/users/{user}/recommendations?count=20");
        AssertShows(same, first);

        var second = await TopItemAsync(_cluster.Gateway, user);
        (position, var body) = await ClickAsync(_cluster.Gateway, user, second);
        Assert.Equal(position, body.GetProperty("position").GetString());
        var elsewhere = await NeighborhoodClient.GetListAsync(other, $"/v1/users/{user}/recommendations?count=20", position);
        AssertShows(elsewhere, second);
        var history = await NeighborhoodClient.GetListAsync(other, $"/v1/users/{user}", position);
        Assert.Equal(second, history.GetProperty("recentItems")[0].GetProperty("itemId").GetString());
        Assert.False(history.TryGetProperty("behind", out _));

        static void AssertShows(JsonElement list, string clicked)
        {
            var items = list.GetProperty("items").EnumerateArray().ToList();
            Assert.False(list.TryGetProperty("behind", out _), list.ToString());
            Assert.DoesNotContain(items, i => i.GetProperty("itemId").GetString() == clicked);
            Assert.Contains(items, i => Follows(i, clicked));
        }
    }

    [Fact]
    public async Task A_new_users_first_click_leads_the_very_next_answer_a_thousand_times_in_a_row()
    {
        await _cluster.RebuildAsync(Deadline);
        // Items with neighbours in the snapshot (the workload plants clusters of items bought and viewed together).
        var planted = new List<(string Item, HashSet<string> Neighbours)>();
        for (var i = 0; i < 40 && planted.Count < 10; i++)
        {
            var similar = await _cluster.GetListAsync($"/v1/items/sku-{i}/similar?count=50");
            var neighbours = similar.GetProperty("items").EnumerateArray()
                .Where(n => n.GetProperty("source").GetString() == "neighborhood")
                .Select(n => n.GetProperty("itemId").GetString()!)
                .ToHashSet(StringComparer.Ordinal);
            // What comes next after the item leads when it weighs more: the snapshot's "next" list is the top of
            // the item's sequential row, in the row's order (docs/algorithms.md).
            var row = await _cluster.GetCooccurrenceAsync($"sku-{i}", 50);
            var next = row is { } r && r.TryGetProperty("nextNeighbors", out var n)
                ? n.EnumerateArray().Select(e => e.GetProperty("itemId").GetString()!)
                : [];
            if (neighbours.Count >= 5)
            {
                neighbours.UnionWith(next);
                planted.Add(($"sku-{i}", neighbours));
            }
        }

        Assert.NotEmpty(planted);
        for (var i = 0; i < 1_000; i++)
        {
            // Post, then ask at once: no sleep, no polling, no position handled by the client.
            var (item, neighbours) = planted[i % planted.Count];
            var user = $"first-click-{i}";
            await ClickAsync(_cluster.Gateway, user, item);
            var recs = await _cluster.GetListAsync($"/v1/users/{user}/recommendations?count=5");
            var first = recs.GetProperty("items")[0];
            Assert.False(recs.TryGetProperty("behind", out _), $"answer {i} is behind");
            Assert.True(
                neighbours.Contains(first.GetProperty("itemId").GetString()!) && Follows(first, item),
                $"answer {i}, for a first click on {item}, is led by {first}");
        }
    }

    [Fact]
    public async Task A_rebuild_asked_for_right_after_a_burst_counts_the_burst()
    {
        // 2,000 events through the gateway, then a rebuild at once: no sleep, and no wait for the items to be
        // stored first. The round must count every event acknowledged before the request.
        var burst = ClusterClient.Events(seed: 29, count: 2_000, users: 60, items: 120, userPrefix: "burst");
        foreach (var chunk in burst.Chunk(1_000))
        {
            var json = "[" + string.Join(",", chunk.Select(e => Encoding.UTF8.GetString(EventSchema.ToUtf8(e)))) + "]";
            using var post = await _cluster.Gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.True(post.StatusCode == HttpStatusCode.Accepted, await post.Content.ReadAsStringAsync());
            fixture.Events.AddRange(chunk);
        }

        using var response = await _cluster.Gateway.PostAsync(new Uri("/v1/admin/neighborhoods/rebuild", UriKind.Relative), null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var result = JsonDocument.Parse(body).RootElement;
        Assert.False(result.TryGetProperty("behind", out _), body);
        await _cluster.WaitForVersionAsync(result.GetProperty("version").GetInt64(), Deadline);
        await _cluster.AssertNeighborhoodsEqualRecountAsync(fixture.Events);
    }

    [Fact]
    public async Task A_read_at_a_position_waits_for_the_event_there_even_one_produced_after_the_read_began()
    {
        // The position after this click names the offset the user's next event will take (nothing else writes to
        // this cluster meanwhile): a read at one past it must wait for an event that does not exist yet.
        var user = "nb-4";
        var (position, _) = await ClickAsync(_cluster.Gateway, user, "sku-1");
        Assert.True(PositionToken.TryParse(position, out var token, out var error), error);
        var (partition, next) = Assert.Single(token!.Offsets);
        var grains = _cluster.Silos[0].Services.GetRequiredService<IGrainFactory>();
        var read = grains.GetGrain<IPartitionIngressGrain>(partition).GetUserHistoryAsync(user, new ReadPosition(next + 1, TimeSpan.FromSeconds(30)));

        var (after, _) = await ClickAsync(_cluster.Gateway, user, "sku-2");
        Assert.Equal($"{partition}:{next + 1}", after);
        var (history, behind) = await read;
        Assert.False(behind);
        Assert.Equal("sku-2", history!.RecentItems[0].ItemId);
    }

    [Fact]
    public async Task A_position_the_cluster_has_not_reached_gets_an_answer_marked_behind_after_the_wait_and_a_malformed_one_a_400()
    {
        await _cluster.RebuildAsync(Deadline);
        // Far past anything produced, on every partition: no partition gets there. A gateway that waits 300 ms.
        using var gateway = await _cluster.StartOtherGatewayAsync(new Dictionary<string, string?> { ["Reco:Gateway:ReadYourWritesWaitMs"] = "300" });
        var far = string.Join(",", Enumerable.Range(0, 64).Select(p => $"{p}:999999999999"));
        var clock = Stopwatch.StartNew();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users/nb-3/recommendations?count=5"))
        {
            request.Headers.Add("Reco-Position", far);
            using var response = await gateway.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), $"answered after {clock.Elapsed.TotalMilliseconds:F0} ms, before the 300 ms wait ended");
            Assert.Equal("true", Assert.Single(response.Headers.GetValues("Reco-Behind")));
            var list = JsonDocument.Parse(body).RootElement;
            Assert.True(list.GetProperty("behind").GetBoolean());
            Assert.Equal(5, list.GetProperty("items").GetArrayLength());
        }

        var history = await NeighborhoodClient.GetListAsync(gateway, "/v1/users/nb-3", far);
        Assert.True(history.GetProperty("behind").GetBoolean());

        foreach (var bad in new[] { "abc", "3:", "-1:5", "2:5,2:6", "1:x" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users/nb-3/recommendations");
            request.Headers.TryAddWithoutValidation("Reco-Position", bad);
            using var response = await _cluster.Gateway.SendAsync(request);
            var problem = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Reco-Position", problem, StringComparison.Ordinal);
        }
    }

    private async Task<(string Position, JsonElement Body)> ClickAsync(HttpClient gateway, string user, string item)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        fixture.Events.Add(new ClickEvent(user, item, EventType.View, now));
        var json = JsonSerializer.Serialize(new { userId = user, itemId = item, type = "view", timestamp = now.ToUnixTimeMilliseconds() });
        using var post = await gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await post.Content.ReadAsStringAsync();
        Assert.True(post.StatusCode == HttpStatusCode.Accepted, text);
        return (Assert.Single(post.Headers.GetValues("Reco-Position")), JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<string> TopItemAsync(HttpClient gateway, string user) =>
        (await NeighborhoodClient.GetListAsync(gateway, $"/v1/users/{user}/recommendations?count=20")).GetProperty("items")[0].GetProperty("itemId").GetString()!;

    [Fact]
    public async Task Recommendations_carry_reasons_and_leave_out_what_the_user_has_seen()
    {
        await _cluster.RebuildAsync(Deadline);
        var user = "nb-7";
        var history = (await _cluster.GetUserAsync(user))!.Value;
        var seen = ClusterClient.Window(history).ToHashSet();
        var recs = await _cluster.GetListAsync($"/v1/users/{user}/recommendations?count=15");
        var items = recs.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(15, items.Count);
        Assert.Equal(user, recs.GetProperty("userId").GetString());
        Assert.True(recs.GetProperty("snapshotVersion").GetInt64() >= 1);
        Assert.All(items, i => Assert.DoesNotContain(i.GetProperty("itemId").GetString()!, seen));
        Assert.All(items, i => Assert.False(string.IsNullOrWhiteSpace(i.GetProperty("reason").GetString())));
        var neighbors = items.Where(i => i.GetProperty("source").GetString() == "neighborhood").ToList();
        Assert.NotEmpty(neighbors);
        Assert.All(neighbors, i => Assert.Contains(i.GetProperty("becauseOf").GetString()!, seen));
        var scores = items.Select(i => i.GetProperty("score").GetDouble()).ToList();
        Assert.Equal(scores.OrderByDescending(s => s), scores);
    }

    [Fact]
    public async Task A_user_without_history_gets_popular_items_marked_as_cold_start()
    {
        await _cluster.RebuildAsync(Deadline);
        var recs = await _cluster.GetListAsync("/v1/users/never-seen-anywhere/recommendations?count=5");
        Assert.True(recs.GetProperty("coldStart").GetBoolean());
        var items = recs.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(5, items.Count);
        Assert.All(items, i => Assert.Equal("popular now", i.GetProperty("reason").GetString()));

        var popular = await _cluster.GetListAsync("/v1/items/popular?count=5");
        Assert.Equal(popular.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("itemId").GetString()), items.Select(i => i.GetProperty("itemId").GetString()));

        // The most popular item by the recount (the first round counts all of N as new) leads the list.
        var counts = Recount.Items(fixture.Events, Recount.TestRule);
        var most = counts.OrderByDescending(c => c.Value.Count).ThenBy(c => c.Key, StringComparer.Ordinal).First().Key;
        var served = popular.GetProperty("items")[0].GetProperty("itemId").GetString();
        Assert.True(served == most || counts[served!].Count == counts[most].Count || popular.GetProperty("snapshotVersion").GetInt64() > 1, $"popular starts with {served}, the recount's most counted item is {most}");
    }

    [Fact]
    public async Task An_unavailable_item_is_never_recommended_and_a_new_item_gets_neighbors_by_content()
    {
        await _cluster.RebuildAsync(Deadline);
        var popular = await _cluster.GetListAsync("/v1/items/popular?count=3");
        var hidden = popular.GetProperty("items")[0].GetProperty("itemId").GetString()!;
        try
        {
            await PutItemAsync(hidden, new { category = "lamps", tags = new[] { "brass" }, available = false });
            await PutItemAsync("nb-new-1", new { category = "lamps", tags = new[] { "brass", "vintage" }, price = 12.5 });
            await PutItemAsync("nb-new-2", new { category = "lamps", tags = new[] { "vintage" } });
            await PutItemAsync("nb-new-3", new { category = "rugs", tags = new[] { "wool" } });

            // Every silo follows the catalog topic on its own: wait until both (the gateway spreads these
            // requests over the silos) have applied all four entries.
            await Eventually.TrueAsync(
                async () =>
                {
                    for (var i = 0; i < 4; i++)
                    {
                        using var similar = await _cluster.Gateway.GetAsync(new Uri("/v1/items/nb-new-1/similar?count=5", UriKind.Relative));
                        var popularNow = await _cluster.GetListAsync("/v1/items/popular?count=10");
                        if (similar.StatusCode != HttpStatusCode.OK
                            || (await similar.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").GetArrayLength() == 0
                            || popularNow.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("itemId").GetString() == hidden))
                        {
                            return false;
                        }
                    }

                    return true;
                },
                Deadline,
                "every silo applying the catalog changes");

            foreach (var path in new[] { "/v1/users/nb-3/recommendations?count=50", "/v1/users/nobody-nb/recommendations?count=50", "/v1/items/popular?count=50" })
            {
                var list = await _cluster.GetListAsync(path);
                Assert.DoesNotContain(list.GetProperty("items").EnumerateArray(), i => i.GetProperty("itemId").GetString() == hidden);
            }

            var cart = await _cluster.CartAsync(["sku-1", "sku-2"], 50);
            Assert.DoesNotContain(cart.GetProperty("items").EnumerateArray(), i => i.GetProperty("itemId").GetString() == hidden);

            // The new item has no co-occurrence: its neighbors come from the catalog, best overlap first, never
            // the unavailable item although it shares category and a tag.
            var similar = (await _cluster.GetListAsync("/v1/items/nb-new-1/similar?count=5")).GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(["nb-new-2"], similar.Select(i => i.GetProperty("itemId").GetString()));
            Assert.Equal("content", similar[0].GetProperty("source").GetString());
            Assert.Contains("lamps", similar[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            // The other tests of the class need every item back.
            await PutItemAsync(hidden, new { category = "lamps", tags = new[] { "brass" }, available = true });
            await Eventually.TrueAsync(
                async () =>
                {
                    for (var i = 0; i < 4; i++)
                    {
                        if ((await _cluster.GetListAsync("/v1/items/popular?count=3")).GetProperty("items")[0].GetProperty("itemId").GetString() != hidden)
                        {
                            return false;
                        }
                    }

                    return true;
                },
                Deadline,
                "the item coming back on every silo once available again");
        }
    }

    [Theory]
    [InlineData("/v1/users/nb-1/recommendations?count=0")]
    [InlineData("/v1/users/nb-1/recommendations?count=101")]
    [InlineData("/v1/users/nb-1/recommendations?count=ten")]
    [InlineData("/v1/items/sku-1/similar?count=-1")]
    [InlineData("/v1/items/popular?count=1e3")]
    public async Task Invalid_counts_get_a_problem_saying_so(string path)
    {
        using var response = await _cluster.Gateway.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("'count'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "'items'")]
    [InlineData("{}", "'items'")]
    [InlineData("""{"items":[]}""", "'items'")]
    [InlineData("""{"items":["a",""]}""", "items[1]")]
    [InlineData("""{"items":"a"}""", "not a valid cart request")]
    [InlineData("""{"items":["a"],"count":0}""", "'count'")]
    [InlineData("[1,2", "not a valid cart request")]
    public async Task Invalid_cart_requests_get_a_problem_saying_what_is_wrong(string body, string expected)
    {
        using var response = await _cluster.Gateway.PostAsync(new Uri("/v1/recommendations/cart", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_item_in_neither_snapshot_nor_catalog_is_404_and_bad_catalog_entries_are_400()
    {
        using var unknown = await _cluster.Gateway.GetAsync(new Uri("/v1/items/no-such-item/similar", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        foreach (var (body, expected) in new[] { ("""{"price":-1}""", "'price'"), ("""{"tags":[""]}""", "tags[0]"), ("""{"category":5}""", "not a valid catalog entry"), ("nope", "not a valid catalog entry") })
        {
            using var response = await _cluster.Gateway.PutAsync(new Uri("/v1/items/x", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    private async Task PutItemAsync(string itemId, object entry)
    {
        using var response = await _cluster.Gateway.PutAsJsonAsync(new Uri($"/v1/items/{itemId}", UriKind.Relative), entry);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    // An answer's item that the user's view of `viewed` brought: as its neighbor ("because you viewed X") or as what
    // often comes next after it (in session, the sequential rules).
    private static bool Follows(JsonElement item, string viewed) =>
        item.GetProperty("reason").GetString() is { } reason
        && (reason == $"because you viewed {viewed}" || reason == $"often next after {viewed}, which you viewed")
        && item.GetProperty("becauseOf").GetString() == viewed;
}
