using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>What tests do to a cluster from the outside: produce events, read users through the gateway.</summary>
public static class ClusterClient
{
    public static IProducer<string, byte[]> CreateProducer(this IClusterUnderTest cluster) =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = Partitioner.Murmur2Random,
            LingerMs = 5,
        }).Build();

    public static IConsumer<byte[]?, byte[]?> CreateConsumer(this IClusterUnderTest cluster, string topic)
    {
        var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = $"test-reader-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        return consumer;
    }

    public static async Task ProduceAsync(this IClusterUnderTest cluster, IEnumerable<ClickEvent> events)
    {
        using var producer = cluster.CreateProducer();
        var deliveries = events
            .Select(e => producer.ProduceAsync(cluster.Topics.Events, new Message<string, byte[]> { Key = e.UserId, Value = EventSchema.ToUtf8(e) }))
            .ToList();
        await Task.WhenAll(deliveries);
    }

    /// <summary>The user's history as the gateway serves it, or null on 404 (and, when waiting for the cluster
    /// to catch up, on 503: an owner busy replaying a backlog answers queries after the records queued before
    /// them, and the gateway answers 503 with Retry-After past its deadline, as documented).</summary>
    public static async Task<JsonElement?> GetUserAsync(this IClusterUnderTest cluster, string userId, bool whileCatchingUp = false)
    {
        using var response = await cluster.Gateway.GetAsync(new Uri($"/v1/users/{Uri.EscapeDataString(userId)}", UriKind.Relative));
        if (response.StatusCode == HttpStatusCode.NotFound || (whileCatchingUp && response.StatusCode == HttpStatusCode.ServiceUnavailable))
        {
            return null;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static IReadOnlyList<string> Window(JsonElement history) =>
        history.GetProperty("recentItems").EnumerateArray().Select(i => i.GetProperty("itemId").GetString()!).ToList();

    /// <summary>Waits until every user's served total equals the recount, then checks windows and counts exactly.</summary>
    public static async Task AssertServedEqualsRecountAsync(this IClusterUnderTest cluster, IReadOnlyList<ClickEvent> events, TimeSpan deadline)
    {
        var expected = Recount.Users(events, windowSize: 20);
        var pending = new HashSet<string>(expected.Keys);
        await Eventually.TrueAsync(
            async () =>
            {
                foreach (var user in pending.ToList())
                {
                    var served = await cluster.GetUserAsync(user, whileCatchingUp: true);
                    if (served is { } h && h.GetProperty("totalEvents").GetInt64() == expected[user].Total)
                    {
                        pending.Remove(user);
                    }
                }

                return pending.Count == 0;
            },
            deadline,
            $"every user's served event total reaching the recount ({pending.Count} users behind)");

        foreach (var (user, want) in expected)
        {
            var served = (await cluster.GetUserAsync(user))!.Value;
            Assert.Equal(want.Window, Window(served));
            Assert.Equal(want.Total, served.GetProperty("totalEvents").GetInt64());
            foreach (var (type, count) in want.Counts)
            {
                Assert.Equal(count, served.GetProperty("eventCounts").GetProperty(type).GetInt64());
            }
        }
    }

    /// <summary>An item's count and row as the admin endpoint serves it, or null on 404 (and on 503 while
    /// catching up, as for users).</summary>
    public static async Task<JsonElement?> GetCooccurrenceAsync(this IClusterUnderTest cluster, string itemId, int count = 10_000, bool whileCatchingUp = false)
    {
        using var response = await cluster.Gateway.GetAsync(new Uri($"/v1/admin/items/{Uri.EscapeDataString(itemId)}/cooccurrence?count={count}", UriKind.Relative));
        if (response.StatusCode == HttpStatusCode.NotFound || (whileCatchingUp && response.StatusCode == HttpStatusCode.ServiceUnavailable))
        {
            return null;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Waits until every item's served count equals the recount, then checks every row exactly, in the
    /// served order (count descending, ties by item id).</summary>
    public static async Task AssertItemsEqualRecountAsync(this IClusterUnderTest cluster, IReadOnlyList<ClickEvent> events, TimeSpan deadline)
    {
        var expected = Recount.Items(events, Recount.TestRule);
        Assert.True(expected.Values.Any(e => e.NextRow.Count > 0), "the workload made no sequential counts; comparing them would prove nothing");
        var pending = new HashSet<string>(expected.Keys);
        await Eventually.TrueAsync(
            async () =>
            {
                foreach (var item in pending.ToList())
                {
                    var served = await cluster.GetCooccurrenceAsync(item, 1, whileCatchingUp: true);
                    if (served is { } row && row.GetProperty("count").GetInt64() == expected[item].Count)
                    {
                        pending.Remove(item);
                    }
                }

                return pending.Count == 0;
            },
            deadline,
            $"every item's served count reaching the recount ({pending.Count} items behind)");

        foreach (var (item, want) in expected)
        {
            var served = (await cluster.GetCooccurrenceAsync(item))!.Value;
            Assert.Equal(want.Count, served.GetProperty("count").GetInt64());
            Assert.Equal(want.Row.Count, served.GetProperty("rowLength").GetInt32());
            var wantRow = want.Row.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}");
            var servedRow = served.GetProperty("neighbors").EnumerateArray().Select(n => $"{n.GetProperty("itemId").GetString()}={n.GetProperty("count").GetInt64()}");
            Assert.Equal(wantRow, servedRow);
            Assert.Equal(want.PurchaseCount, served.GetProperty("purchaseCount").GetInt64());
            var wantPurchases = want.PurchaseRow.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}");
            var servedPurchases = served.GetProperty("purchaseNeighbors").EnumerateArray().Select(n => $"{n.GetProperty("itemId").GetString()}={n.GetProperty("count").GetInt64()}");
            Assert.Equal(wantPurchases, servedPurchases);
            Assert.Equal(want.NextRow.Count, served.GetProperty("nextRowLength").GetInt32());
            var wantNext = want.NextRow.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}");
            var servedNext = served.GetProperty("nextNeighbors").EnumerateArray().Select(n => $"{n.GetProperty("itemId").GetString()}={n.GetProperty("count").GetInt64()}");
            Assert.Equal(wantNext, servedNext);
        }
    }

    /// <summary>A reproducible stream: <paramref name="count"/> events over users and items, skewed a little.</summary>
    public static List<ClickEvent> Events(int seed, int count, int users, int items, string userPrefix = "u")
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        return Enumerable.Range(0, count).Select(i => new ClickEvent(
            $"{userPrefix}-{random.Next(users)}",
            $"sku-{(int)Math.Floor(Math.Pow(random.NextDouble(), 2) * items)}",
            (EventType)random.Next(4),
            start.AddSeconds(i))).ToList();
    }
}
