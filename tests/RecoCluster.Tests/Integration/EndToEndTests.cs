using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using RecoCluster.Cluster;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Ingress;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>One two-silo Orleans cluster shared by the tests of this class; each test uses its own users.</summary>
public sealed class SharedClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await TestCluster.StartAsync(TestDatabases.NewSqlite(), silos: 2);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[Collection("cluster")]
public sealed class EndToEndTests(SharedClusterFixture fixture) : IClassFixture<SharedClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task An_event_posted_to_the_gateway_is_served_at_the_users_endpoint()
    {
        var body = """{"userId":"e2e-42","itemId":"sku-9","type":"view","timestamp":"2026-11-22T07:49:13Z","sessionId":"s-1"}""";
        using var post = await _cluster.Gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        Assert.Equal(1, (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32());

        var history = await Eventually.ValueAsync<object>(async () => await _cluster.GetUserAsync("e2e-42"), Deadline, "the event showing at /v1/users/e2e-42");
        var h = (JsonElement)history;
        Assert.Equal("e2e-42", h.GetProperty("userId").GetString());
        var item = h.GetProperty("recentItems").EnumerateArray().Single();
        Assert.Equal("sku-9", item.GetProperty("itemId").GetString());
        Assert.Equal("view", item.GetProperty("lastType").GetString());
        Assert.Equal(1, h.GetProperty("eventCounts").GetProperty("view").GetInt64());
    }

    [Fact]
    public async Task Events_produced_straight_to_Kafka_are_served_exactly_as_a_recount_of_them()
    {
        // Items of their own, so the co-occurrence rows are this test's alone.
        var events = ClusterClient.Events(seed: 7, count: 600, users: 80, items: 40, userPrefix: "direct")
            .Select(e => e with { ItemId = "direct-" + e.ItemId }).ToList();
        await _cluster.ProduceAsync(events);

        await _cluster.AssertServedEqualsRecountAsync(events, Deadline);
        await _cluster.AssertItemsEqualRecountAsync(events, Deadline);
    }

    [Fact]
    public async Task Item_queries_validate_and_unknown_items_get_404()
    {
        using var unknown = await _cluster.Gateway.GetAsync(new Uri("/v1/admin/items/never-seen/cooccurrence", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        foreach (var bad in new[] { "0", "-1", "abc", "10001" })
        {
            using var response = await _cluster.Gateway.GetAsync(new Uri($"/v1/admin/items/x/cooccurrence?count={bad}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("'count'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_batch_with_one_invalid_event_is_rejected_whole_with_its_index_and_reason()
    {
        var body = """
            [{"userId":"batch-1","itemId":"a","type":"view","timestamp":1763797753000},
             {"userId":"batch-1","itemId":"b","type":"teleport","timestamp":1763797753000}]
            """;
        using var post = await _cluster.Gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Equal("application/problem+json", post.Content.Headers.ContentType?.MediaType);
        var problem = await post.Content.ReadFromJsonAsync<JsonElement>();
        var error = problem.GetProperty("errors").EnumerateArray().Single();
        Assert.Equal(1, error.GetProperty("index").GetInt32());
        Assert.Contains("teleport", error.GetProperty("error").GetString(), StringComparison.Ordinal);

        // Prove the valid half was not produced either: a later event for the same user (same partition, so
        // ordered after anything produced before it) is the only one that shows up.
        await _cluster.ProduceAsync([new ClickEvent("batch-1", "marker", EventType.Click, DateTimeOffset.UtcNow)]);
        var history = (JsonElement)await Eventually.ValueAsync<object>(async () => await _cluster.GetUserAsync("batch-1"), Deadline, "the marker event");
        Assert.Equal(["marker"], ClusterClient.Window(history));
        Assert.Equal(1, history.GetProperty("totalEvents").GetInt64());
    }

    [Fact]
    public async Task Invalid_records_go_to_the_dead_letter_topic_with_their_reason_and_do_not_stop_the_partition()
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = _cluster.Kafka.BootstrapServers, Partitioner = Partitioner.Murmur2Random }).Build();
        var user = "dlq-user";
        var valid = EventSchema.ToUtf8(new ClickEvent(user, "fine", EventType.View, DateTimeOffset.UtcNow));
        var wrongKey = EventSchema.ToUtf8(new ClickEvent("someone-else", "x", EventType.View, DateTimeOffset.UtcNow));
        var key = Encoding.UTF8.GetBytes(user);
        await producer.ProduceAsync(_cluster.Topics.Events, new Message<byte[]?, byte[]?> { Key = key, Value = "{not json"u8.ToArray() });
        await producer.ProduceAsync(_cluster.Topics.Events, new Message<byte[]?, byte[]?> { Key = key, Value = wrongKey });
        await producer.ProduceAsync(_cluster.Topics.Events, new Message<byte[]?, byte[]?> { Key = key, Value = valid });

        var history = (JsonElement)await Eventually.ValueAsync<object>(async () => await _cluster.GetUserAsync(user), Deadline, "the valid event after two invalid ones");
        Assert.Equal(["fine"], ClusterClient.Window(history));

        using var dlq = _cluster.CreateConsumer(_cluster.Topics.DeadLetters);
        var reasons = new List<string>();
        var started = DateTime.UtcNow;
        while (reasons.Count < 2 && DateTime.UtcNow - started < Deadline)
        {
            var record = dlq.Consume(TimeSpan.FromMilliseconds(200));
            if (record?.Message is { } m && m.Key is not null && Encoding.UTF8.GetString(m.Key) == user)
            {
                reasons.Add(Encoding.UTF8.GetString(m.Headers.GetLastBytes(DeadLetters.ReasonHeader)));
                Assert.Equal(_cluster.Topics.Events, Encoding.UTF8.GetString(m.Headers.GetLastBytes(DeadLetters.SourceTopicHeader)));
            }
        }

        Assert.Equal(2, reasons.Count);
        Assert.StartsWith("malformed JSON", reasons[0], StringComparison.Ordinal);
        Assert.Contains("record key must be the event's userId", reasons[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_users_get_404_and_bad_ids_get_400_as_problem_json()
    {
        using var unknown = await _cluster.Gateway.GetAsync(new Uri("/v1/users/nobody-ever", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        using var tooLong = await _cluster.Gateway.GetAsync(new Uri($"/v1/users/{new string('x', 300)}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("256 UTF-8 bytes", await tooLong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_two_silos_share_the_partitions_and_the_admin_view_shows_each_ingress_on_its_silo()
    {
        var admin = await _cluster.Gateway.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
        Assert.Equal("orleans", admin.GetProperty("runtime").GetString());
        Assert.Equal(_cluster.Partitions, admin.GetProperty("partitionCount").GetInt32());
        var silos = admin.GetProperty("silos").EnumerateArray().ToList();
        Assert.Equal(_cluster.Silos.Select(s => TestCluster.AddressOf(s).ToString()).Order(StringComparer.Ordinal), silos.Select(s => s.GetProperty("address").GetString()).Order(StringComparer.Ordinal));
        Assert.All(silos, s => Assert.True(s.GetProperty("reachable").GetBoolean(), s.ToString()));

        // Each silo reads a share, every partition is read by exactly one, and the ingress says so itself.
        var ingresses = silos.Select(s => s.GetProperty("ingresses").EnumerateArray().Select(p => p.GetInt32()).ToList()).ToList();
        Assert.All(ingresses, i => Assert.NotEmpty(i));
        Assert.Equal(Enumerable.Range(0, _cluster.Partitions), ingresses.SelectMany(i => i).Order());
        foreach (var partition in admin.GetProperty("partitions").EnumerateArray())
        {
            var reader = silos.Single(s => s.GetProperty("ingresses").EnumerateArray().Any(p => p.GetInt32() == partition.GetProperty("partition").GetInt32()));
            Assert.Equal(reader.GetProperty("address").GetString(), partition.GetProperty("status").GetProperty("silo").GetString());
        }

        // Once caught up, every partition reports zero lag, including those that never saw a record.
        await Eventually.TrueAsync(
            async () =>
            {
                var view = await _cluster.Gateway.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
                return view.GetProperty("partitions").EnumerateArray()
                    .All(p => p.GetProperty("lag").ValueKind == JsonValueKind.Number && p.GetProperty("lag").GetInt64() == 0);
            },
            TimeSpan.FromSeconds(30),
            "every partition reporting zero lag");
    }

    /// <summary>Bad input for every endpoint: (method, path, body bytes, content type). Ids and bodies are built
    /// around the probe user, so anything half-applied would show in its history.</summary>
    public static TheoryData<string, string, string, byte[]?, string?> BadInputs()
    {
        const string probe = "bad-input-probe";
        var longId = new string('x', 10 * 1024);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string Event(string userId = probe, string type = "\"view\"", string timestamp = "") =>
            $$"""{"userId":{{userId}},"itemId":"bad-sku","type":{{type}},"timestamp":{{(timestamp.Length == 0 ? now.ToString(System.Globalization.CultureInfo.InvariantCulture) : timestamp)}}}""";
        static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
        var valid = Event($"\"{probe}\"");
        var data = new TheoryData<string, string, string, byte[]?, string?>
        {
            { "malformed JSON", "POST", "/v1/events", Utf8("{\"userId\":"), "application/json" },
            { "trailing garbage", "POST", "/v1/events", Utf8(valid + "}"), "application/json" },
            { "wrong type for userId", "POST", "/v1/events", Utf8(Event("42")), "application/json" },
            { "wrong type for timestamp", "POST", "/v1/events", Utf8(Event($"\"{probe}\"", timestamp: "true")), "application/json" },
            { "a string instead of an event", "POST", "/v1/events", Utf8("\"hello\""), "application/json" },
            { "an empty array", "POST", "/v1/events", Utf8("[]"), "application/json" },
            { "an empty body", "POST", "/v1/events", [], "application/json" },
            { "empty userId", "POST", "/v1/events", Utf8(Event("\"\"")), "application/json" },
            { "10 KB userId", "POST", "/v1/events", Utf8(Event($"\"{longId}\"")), "application/json" },
            { "control character in userId", "POST", "/v1/events", Utf8(Event("\"bad\\u0001id\"")), "application/json" },
            { "bidirectional override in userId", "POST", "/v1/events", Utf8(Event("\"\\u202egnp.exe\"")), "application/json" },
            { "invalid UTF-8", "POST", "/v1/events", [.. Utf8("{\"userId\":\"bad"), 0xFF, 0xFE, .. Utf8("\",\"itemId\":\"a\",\"type\":\"view\",\"timestamp\":1}")], "application/json" },
            { "unknown event type", "POST", "/v1/events", Utf8("[" + valid + "," + Event($"\"{probe}\"", "\"teleport\"") + "]"), "application/json" },
            { "timestamp far in the future", "POST", "/v1/events", Utf8("[" + valid + "," + Event($"\"{probe}\"", timestamp: "\"2099-01-01T00:00:00Z\"") + "]"), "application/json" },
            { "timestamp after the schema's range", "POST", "/v1/events", Utf8(Event($"\"{probe}\"", timestamp: "\"2100-01-01T00:00:00Z\"")), "application/json" },
            { "timestamp before 2000", "POST", "/v1/events", Utf8(Event($"\"{probe}\"", timestamp: "\"1999-12-31T23:59:59Z\"")), "application/json" },
            { "timestamp older than the max age", "POST", "/v1/events", Utf8("[" + valid + "," + Event($"\"{probe}\"", timestamp: "\"2005-01-01T00:00:00Z\"") + "]"), "application/json" },
            { "too many events", "POST", "/v1/events", Utf8("[" + string.Join(',', Enumerable.Repeat(valid, 1001)) + "]"), "application/json" },
            { "huge body", "POST", "/v1/events", Utf8("[" + string.Join(',', Enumerable.Repeat(valid, 20_000)) + "]"), "application/json" },
            { "deep nesting", "POST", "/v1/events", Utf8(new string('[', 100) + new string(']', 100)), "application/json" },
            { "not JSON at all", "POST", "/v1/events", Utf8(valid), "text/plain" },
            { "10 KB user id", "GET", "/v1/users/" + longId, null, null },
            { "control character in user id", "GET", "/v1/users/bad%01id", null, null },
            { "zero-width space in user id", "GET", "/v1/users/bad%E2%80%8Bid", null, null },
            { "bidirectional override in item id", "GET", "/v1/items/%E2%80%AEgnp.exe/similar", null, null },
            { "invalid UTF-8 in user id", "GET", "/v1/users/bad%FF%FEid", null, null },
            { "empty user id", "GET", "/v1/users/", null, null },
            { "10 KB user id to erase", "DELETE", "/v1/users/" + longId, null, null },
            { "control character in user id to erase", "DELETE", "/v1/users/bad%0Aid", null, null },
            { "invalid UTF-8 in user id to erase", "DELETE", "/v1/users/bad%C3%28id", null, null },
            { "count not a number", "GET", "/v1/admin/items/x/cooccurrence?count=abc", null, null },
            { "count zero", "GET", "/v1/admin/items/x/cooccurrence?count=0", null, null },
            { "count negative", "GET", "/v1/admin/items/x/cooccurrence?count=-5", null, null },
            { "count too large", "GET", "/v1/admin/items/x/cooccurrence?count=10001", null, null },
            { "count overflowing", "GET", "/v1/admin/items/x/cooccurrence?count=99999999999999999999", null, null },
            { "10 KB item id", "GET", "/v1/admin/items/" + longId + "/cooccurrence", null, null },
            { "control character in item id", "GET", "/v1/admin/items/bad%7Fid/cooccurrence", null, null },
        };
        return data;
    }

    [Fact]
    public async Task An_id_with_an_invisible_format_character_gets_a_400_naming_the_field()
    {
        var body = """{"userId":"\u202egnp.exe","itemId":"sku-1","type":"view","timestamp":1763797753000}""";
        using var response = await _cluster.Gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Contains("'userId' contains an invisible format character (U+202E)", error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_to_any_endpoint_gets_a_4xx_problem_json_and_changes_nothing(string what, string method, string path, byte[]? body, string? contentType)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType!);
        }

        using var response = await _cluster.Gateway.SendAsync(request);

        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{what}: {(int)response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());

        // Nothing of it reached the probe user: one marker event after it is all the history there is. (The
        // probe is reset first, so the theory's cases stay independent.)
        await AssertOnlyMarkerAsync("bad-input-probe");
    }

    private async Task AssertOnlyMarkerAsync(string user)
    {
        using (var erase = await _cluster.Gateway.DeleteAsync(new Uri($"/v1/users/{user}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Accepted, erase.StatusCode);
        }

        var marker = $"marker-{Guid.NewGuid():N}";
        var body = Encoding.UTF8.GetString(EventSchema.ToUtf8(new ClickEvent(user, marker, EventType.Click, DateTimeOffset.UtcNow)));
        using (var post = await _cluster.Gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        }

        var history = (JsonElement)await Eventually.ValueAsync<object>(
            async () => await _cluster.GetUserAsync(user) is { } h && ClusterClient.Window(h).Contains(marker) ? h : null,
            Deadline,
            "the marker event");
        Assert.Equal([marker], ClusterClient.Window(history));
        Assert.Equal(1, history.GetProperty("totalEvents").GetInt64());
    }

    [Fact]
    public async Task Our_partitioner_agrees_with_librdkafkas_murmur2_for_every_key()
    {
        using var producer = _cluster.CreateProducer();
        for (var i = 0; i < 200; i++)
        {
            var key = i % 3 == 0 ? $"ü-{i}-ключ" : $"user-{i * 7919}";
            var result = await producer.ProduceAsync(_cluster.Topics.DeadLetters, new Message<string, byte[]> { Key = key, Value = [] });
            Assert.Equal(result.Partition.Value, KafkaPartitioner.PartitionFor(key, _cluster.Partitions));
        }
    }
}
