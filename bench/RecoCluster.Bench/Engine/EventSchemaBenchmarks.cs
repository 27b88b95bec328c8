using BenchmarkDotNet.Attributes;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Bench.Engine;

/// <summary>
/// The schema is on both ends of every event: the gateway parses what clients post and writes the canonical form,
/// and a silo parses it again off the topic. These numbers are per event.
/// </summary>
[MemoryDiagnoser]
public class EventSchemaBenchmarks
{
    // A typical event: a view with a session, no quantity or price, short ids.
    private readonly ClickEvent _event = new(
        "u-48213",
        "sku-01927",
        EventType.View,
        new DateTimeOffset(2026, 11, 22, 7, 49, 13, 123, TimeSpan.Zero),
        "s-9f3a2c");

    private byte[] _utf8 = [];

    [GlobalSetup]
    public void Setup() => _utf8 = EventSchema.ToUtf8(_event);

    /// <summary>The silo's side: the canonical bytes as they sit on the events topic.</summary>
    [Benchmark]
    public ClickEvent? Parse() => EventSchema.TryParse(_utf8, out var evt, out _) ? evt : null;

    /// <summary>The gateway's side: the canonical bytes it publishes.</summary>
    [Benchmark]
    public byte[] ToUtf8() => EventSchema.ToUtf8(_event);
}
