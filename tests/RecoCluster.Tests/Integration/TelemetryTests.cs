using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using RecoCluster.Cluster.Telemetry;
using RecoCluster.Grains.Interfaces;
using RecoCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RecoCluster.Tests.Integration;

/// <summary>Metrics and traces as operators get them: <c>/metrics</c> scraped from real silo and gateway processes
/// after load, checked by promtool; a producer's trace context carried through Kafka into the silo's span.</summary>
[Collection("cluster")]
public sealed class TelemetryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Metrics_of_a_silo_and_the_gateway_pass_promtool_and_carry_the_named_series()
    {
        // Structured logs, as a log shipper wants them: one JSON object per line.
        // librdkafka's statistics every second, not every 15 s, so that the reco_kafka_* series exist in time.
        var json = new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json", ["Reco__Kafka__StatisticsIntervalMs"] = "1000" };
        await using var cluster = await ProcessCluster.StartAsync(TestDatabases.NewSqlite(), silos: 1, environment: json);
        try
        {
            // Load through the gateway's HTTP ingest, so its produce histogram fills too.
            var events = ClusterClient.Events(seed: 3, count: 2_000, users: 200, items: 80);
            foreach (var chunk in events.Chunk(500))
            {
                var body = "[" + string.Join(',', chunk.Select(e => Encoding.UTF8.GetString(EventSchema.ToUtf8(e)))) + "]";
                using var posted = await cluster.Gateway.PostAsync(new Uri("/v1/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
            }

            await cluster.AssertServedEqualsRecountAsync(events, TimeSpan.FromSeconds(60)); // queries, too
            await cluster.AssertItemsEqualRecountAsync(events, TimeSpan.FromSeconds(60)); // the item shards, too

            using var http = new HttpClient();
            using (var ready = await http.GetAsync(new Uri(cluster.SiloHttp[cluster.Silos[0]], "/readyz")))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // and its duration is recorded below
            }

            // Each client reports its statistics on its own clock: wait until the silo's eight readers and the
            // gateway's producer have.
            await Eventually.TrueAsync(
                async () => Promtool.Samples(await http.GetStringAsync(new Uri(cluster.SiloHttp[cluster.Silos[0]], "/metrics")), "reco_kafka_fetch_lag").Count >= 8
                    && Promtool.Samples(await cluster.Gateway.GetStringAsync(new Uri("/metrics", UriKind.Relative)), "reco_kafka_queued_messages").Count > 0,
                TimeSpan.FromSeconds(60),
                "librdkafka's statistics on the silo's and the gateway's /metrics");

            using var siloResponse = await http.GetAsync(new Uri(cluster.SiloHttp[cluster.Silos[0]], "/metrics"));
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", siloResponse.Content.Headers.ContentType?.ToString());
            var silo = await siloResponse.Content.ReadAsStringAsync();
            var gateway = await cluster.Gateway.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            output.WriteLine(silo);
            output.WriteLine(gateway);

            await Promtool.CheckMetricsAsync(silo, "the silo's /metrics");
            await Promtool.CheckMetricsAsync(gateway, "the gateway's /metrics");

            // One silo reads all 8 partitions; the recount above saw every event on both sides, so every batch is
            // checkpointed and counted.
            Assert.Equal(2_000, Single(silo, "reco_events_consumed_total"));
            Assert.Equal(2_000, Single(silo, "reco_events_applied_total"));
            Assert.Equal(0, Single(silo, "reco_events_invalid_total"));
            Assert.Equal(0, Single(silo, "reco_fencing_violations_total"));
            Assert.True(Single(silo, "reco_checkpoints_total") > 0);
            Assert.Equal(Single(silo, "reco_checkpoints_total"), Single(silo, "reco_checkpoint_duration_seconds_count"));
            // Every batch stored users and an item side, and every item was stored whole once at least.
            foreach (var kind in new[] { "user", "item_side", "item" })
            {
                Assert.True(Labeled(silo, "reco_storage_written_bytes_total", $"kind=\"{kind}\"") > 0, kind);
            }

            // The runtime's meter is exported, but not its count of bytes allocated, which drops and jumps under
            // DATAS on this runtime (RecoTelemetry.ForPrometheus).
            Assert.NotEmpty(Promtool.Samples(silo, "dotnet_gc_collections_total"));
            Assert.Empty(Promtool.Samples(silo, "dotnet_gc_heap_total_allocated_bytes_total"));
            Assert.Empty(Promtool.Samples(gateway, "dotnet_gc_heap_total_allocated_bytes_total"));

            Assert.Equal(8, Single(silo, "reco_ingress_partitions"));
            Assert.Equal(8, Promtool.Samples(silo, "reco_consumer_lag").Count);
            Assert.All(Promtool.Samples(silo, "reco_consumer_lag"), s => Assert.Equal(0, s.Value));
            Assert.Equal(8, Promtool.Samples(silo, "reco_checkpoint_age_seconds").Count);
            Assert.All(Promtool.Samples(silo, "reco_ingress_blocked"), s => Assert.Equal(0, s.Value));
            Assert.Equal(1, Single(silo, "reco_silo_ready"));
            // librdkafka's statistics: each partition's reader has read everything produced, and its round trips
            // to the broker are measured.
            var fetchLags = Promtool.Samples(silo, "reco_kafka_fetch_lag");
            Assert.Equal(8, fetchLags.Count(s => s.Labels.Contains($"topic=\"{cluster.Prefix}.events\"", StringComparison.Ordinal)));
            Assert.All(fetchLags, s => Assert.Equal(0, s.Value));
            Assert.NotEmpty(Promtool.Samples(silo, "reco_kafka_broker_rtt_seconds"));
            Assert.All(Promtool.Samples(silo, "reco_kafka_broker_rtt_seconds"), s => Assert.InRange(s.Value, 0, 10));
            Assert.Contains(Promtool.Samples(gateway, "reco_kafka_queued_messages"), s => s.Labels.Contains("client=\"reco-gateway-", StringComparison.Ordinal));
            // Orleans' own meter: on the one silo, an ingress per partition (which hold the 200 users; the queries
            // above read them there, with no grain per user), and the item routers the recount's 80 item reads used.
            Assert.Equal(8, Labeled(silo, "orleans_catalog_activations", "grain_type=\"partitioningress\""));
            Assert.Equal(80, Labeled(silo, "orleans_catalog_activations", "grain_type=\"item\""));
            Assert.DoesNotContain(Promtool.Samples(silo, "orleans_catalog_activations"), s => s.Labels.Contains("grain_type=\"user\"", StringComparison.Ordinal) && s.Value > 0);
            Assert.True(Labeled(silo, "http_server_request_duration_seconds_count", "http_route=\"/readyz\"") >= 1);

            Assert.Equal(4, Labeled(gateway, "reco_ingest_produce_duration_seconds_count", "outcome=\"ok\""));
            Assert.True(Labeled(gateway, "http_server_request_duration_seconds_count", "http_route=\"/v1/events\"") >= 4);

            // Every series the shipped alerts and dashboard use exists, so they cannot silently watch nothing.
            var exported = TypeLines(silo).Concat(TypeLines(gateway)).ToHashSet(StringComparer.Ordinal);
            foreach (var used in MetricsUsedByDeployAssets())
            {
                Assert.True(exported.Contains(used), $"deploy/monitoring uses '{used}', which neither the silo nor the gateway exports");
            }

            var logLines = File.ReadAllLines(cluster.Silos[0].LogFile).Where(l => l.StartsWith('{')).ToList();
            Assert.NotEmpty(logLines);
            Assert.All(logLines, l => Assert.True(JsonDocument.Parse(l).RootElement.TryGetProperty("Category", out _), l));
            Assert.Contains(logLines, l => l.Contains("\"Category\":\"RecoCluster.Silo.Ingress.PartitionIngressGrain\"", StringComparison.Ordinal));
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    [Fact]
    public async Task Traces_cross_kafka_into_the_ingress_batch_and_the_gateway_into_the_grains()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is RecoTelemetry.SourceName or "Microsoft.AspNetCore" or Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var cluster = await TestCluster.StartAsync(TestDatabases.NewSqlite(), silos: 1);
        var traceId = ActivityTraceId.CreateRandom();
        var parentSpan = ActivitySpanId.CreateRandom();
        var evt = ClusterClient.Events(seed: 8, count: 1, users: 1, items: 1)[0];
        using (var producer = cluster.CreateProducer())
        {
            await producer.ProduceAsync(cluster.Topics.Events, new Message<string, byte[]>
            {
                Key = evt.UserId,
                Value = EventSchema.ToUtf8(evt),
                Headers = new Headers { { TraceHeaders.TraceParent, Encoding.ASCII.GetBytes($"00-{traceId}-{parentSpan}-01") } },
            });
        }

        // Producer to silo: the batch that applied the event links to the producer's span (a batch has many
        // producers, so links rather than a parent, as OpenTelemetry's messaging conventions have it).
        var batch = await Eventually.ValueAsync(
            () =>
            {
                lock (spans)
                {
                    return Task.FromResult(spans.FirstOrDefault(s => s.OperationName == "reco.ingress.batch" && s.Links.Any(l => l.Context.TraceId == traceId)));
                }
            },
            TimeSpan.FromSeconds(30),
            "the ingress batch span linked to the producer's trace");
        Assert.Equal(ActivityKind.Consumer, batch.Kind);
        Assert.Equal(parentSpan, batch.Links.Single(l => l.Context.TraceId == traceId).Context.SpanId);

        // Gateway to grain: a query carrying a trace reaches the call to the ingress that holds the user in the same
        // trace, as a child of the gateway's request span.
        var queryTrace = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/v1/users/{Uri.EscapeDataString(evt.UserId)}", UriKind.Relative)))
        {
            request.Headers.Add("traceparent", $"00-{queryTrace}-{callerSpan}-01");
            using var response = await cluster.Gateway.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Eventually.TrueAsync(
            () =>
            {
                lock (spans)
                {
                    var inTrace = spans.Where(s => s.TraceId == queryTrace).ToList();
                    var request = inTrace.SingleOrDefault(s => s.Source.Name == "Microsoft.AspNetCore" && s.Kind == ActivityKind.Server && s.ParentSpanId == callerSpan);
                    var grainCall = inTrace.FirstOrDefault(s => s.Source.Name == Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName
                        && s.Kind == ActivityKind.Server && s.DisplayName.Contains("GetUserHistory", StringComparison.Ordinal));
                    return Task.FromResult(request is not null && grainCall is not null && grainCall.ParentSpanId != callerSpan);
                }
            },
            TimeSpan.FromSeconds(10),
            "the user read's grain call span in the gateway query's trace");
    }

    private static IEnumerable<string> TypeLines(string exposition) =>
        exposition.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]);

    private static IEnumerable<string> MetricsUsedByDeployAssets()
    {
        var monitoring = RepoPaths.Of("deploy", "monitoring");
        var text = File.ReadAllText(Path.Combine(monitoring, "alerts.rules.yml")) + File.ReadAllText(Path.Combine(monitoring, "grafana-dashboard.json"));
        var names = System.Text.RegularExpressions.Regex.Matches(text, "\\b(?:reco|http_server|orleans)_[a-z_]+\\b")
            .Select(m => m.Value)
            .Select(n => System.Text.RegularExpressions.Regex.Replace(n, "_(bucket|count|sum)$", string.Empty))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(names);
        return names;
    }

    private static double Single(string exposition, string name)
    {
        var samples = Promtool.Samples(exposition, name);
        Assert.True(samples.Count == 1, $"expected one sample of {name}, found {samples.Count}");
        return samples[0].Value;
    }

    private static double Labeled(string exposition, string name, string label)
    {
        var samples = Promtool.Samples(exposition, name).Where(s => s.Labels.Contains(label, StringComparison.Ordinal)).ToList();
        Assert.True(samples.Count > 0, $"no sample of {name} with {label}");
        return samples.Sum(s => s.Value);
    }
}
