using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Silo.Ingress;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>DELETE /v1/users/{id}: the erase command travels the user's partition, whose ingress drops the user's
/// history and deletes its row with the batch's users; neither a restart of every silo nor the reading silo
/// leaving (both replay from the checkpoint) brings the history back; later events start afresh.
/// On Orleans silos and the gateway as their client, built like the processes.</summary>
[Collection("cluster")]
public sealed class PrivacyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_erased_user_stays_erased_through_restart_and_failover_and_new_events_start_a_fresh_history()
    {
        await using var cluster = await TestCluster.StartAsync(TestDatabases.NewSqlite(), silos: 2);
        const string user = "privacy-1";
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        using var ingest = cluster.Client(TestKeys.Ingest);
        using var reader = cluster.Client(TestKeys.Read);
        using var admin = cluster.Client(TestKeys.Admin);
        var body = "[" + string.Join(',', Enumerable.Range(0, 5).Select(i =>
            Encoding.UTF8.GetString(EventSchema.ToUtf8(new ClickEvent(user, $"p-sku-{i}", EventType.View, start.AddSeconds(i)))))) + "]";
        using (var posted = await ingest.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        await Eventually.TrueAsync(async () => await TotalAsync(reader, user) == 5, Deadline, "the user's 5 events being served");

        // A read key may not erase; an admin key may.
        using (var refused = await reader.DeleteAsync(new Uri($"/v1/users/{user}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var erase = await admin.DeleteAsync(new Uri($"/v1/users/{user}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Accepted, erase.StatusCode);
            Assert.Equal("application/json", erase.Content.Headers.ContentType?.MediaType);
            Assert.Equal(user, (await erase.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("userId").GetString());
        }

        await Eventually.TrueAsync(async () => await TotalAsync(reader, user) is null, Deadline, "the erased user answering 404");

        // Every silo stops and two new ones replay from the checkpoints: still gone.
        foreach (var silo in cluster.Silos.ToList())
        {
            await cluster.StopSiloAsync(silo);
        }

        await cluster.AddSiloAsync();
        await cluster.AddSiloAsync();
        await cluster.WaitUntilReadyAsync();
        Assert.Null(await TotalAsync(reader, user));

        // The silo reading the user's partition leaves; its ingress starts on the other silo, from the store.
        var view = await admin.GetFromJsonAsync<JsonElement>(new Uri("/v1/admin/cluster", UriKind.Relative));
        var reading = view.GetProperty("partitions")[Silo(user, cluster.Partitions)].GetProperty("status").GetProperty("silo").GetString();
        var owner = cluster.Silos.Single(s => TestCluster.AddressOf(s).ToString() == reading);
        await cluster.StopSiloAsync(owner);
        await cluster.AddSiloAsync();
        await cluster.WaitUntilReadyAsync();
        Assert.Null(await TotalAsync(reader, user));

        // New events for the same user start a fresh window.
        var fresh = Encoding.UTF8.GetString(EventSchema.ToUtf8(new ClickEvent(user, "p-new", EventType.Click, start.AddMinutes(1))));
        using (var posted = await ingest.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(fresh, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        var history = (JsonElement)await Eventually.ValueAsync<object>(async () => await cluster.GetUserAsync(user), Deadline, "the fresh event being served");
        Assert.Equal(["p-new"], ClusterClient.Window(history));
        Assert.Equal(1, history.GetProperty("totalEvents").GetInt64());
        Assert.Equal(0, history.GetProperty("eventCounts").GetProperty("view").GetInt64());
    }

    [Fact]
    public async Task A_malformed_erase_command_on_the_topic_is_dead_lettered_and_erases_nothing()
    {
        await using var cluster = await TestCluster.StartAsync(TestDatabases.NewSqlite(), silos: 1);
        const string user = "privacy-2";
        await cluster.ProduceAsync([new ClickEvent(user, "kept", EventType.View, DateTimeOffset.UtcNow)]);
        await Eventually.TrueAsync(async () => await cluster.GetUserAsync(user) is not null, Deadline, "the event being served");

        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Partitioner = Partitioner.Murmur2Random }).Build())
        {
            var key = Encoding.UTF8.GetBytes(user);
            var erase = new Headers { { EventCommands.Header, "erase"u8.ToArray() } };
            // Keyed by the user, but naming someone else; and a command nobody knows.
            await producer.ProduceAsync(cluster.Topics.Events, new Message<byte[]?, byte[]?> { Key = key, Value = EventCommands.EncodeErase("someone-else"), Headers = erase });
            await producer.ProduceAsync(cluster.Topics.Events, new Message<byte[]?, byte[]?> { Key = key, Value = "{}"u8.ToArray(), Headers = new Headers { { EventCommands.Header, "shred"u8.ToArray() } } });
        }

        await cluster.ProduceAsync([new ClickEvent(user, "marker", EventType.Click, DateTimeOffset.UtcNow)]);
        await Eventually.TrueAsync(async () => (await cluster.GetUserAsync(user))?.GetProperty("totalEvents").GetInt64() == 2, Deadline, "the marker after the bad commands");

        using var dlq = cluster.CreateConsumer(cluster.Topics.DeadLetters);
        var reasons = new List<string>();
        var started = DateTime.UtcNow;
        while (reasons.Count < 2 && DateTime.UtcNow - started < Deadline)
        {
            if (dlq.Consume(TimeSpan.FromMilliseconds(200))?.Message is { } m)
            {
                reasons.Add(Encoding.UTF8.GetString(m.Headers.GetLastBytes(DeadLetters.ReasonHeader)));
            }
        }

        Assert.Equal(2, reasons.Count);
        Assert.StartsWith("record key must be the erased userId", reasons[0], StringComparison.Ordinal);
        Assert.StartsWith("unknown command 'shred'", reasons[1], StringComparison.Ordinal);
    }

    private static int Silo(string user, int partitions) => Cluster.KafkaPartitioner.PartitionFor(user, partitions);

    private static async Task<long?> TotalAsync(HttpClient reader, string user)
    {
        using var response = await reader.GetAsync(new Uri($"/v1/users/{user}", UriKind.Relative));
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("totalEvents").GetInt64();
    }
}
