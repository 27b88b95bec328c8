using System.Text;
using System.Text.Json;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Tests.Unit;

public class EventSchemaTests
{
    [Fact]
    public void Parses_the_contract_example()
    {
        var json = """{"userId":"u-42","itemId":"sku-9","type":"view","timestamp":"2026-11-22T07:49:13Z","sessionId":"s-1"}"""u8;

        Assert.True(EventSchema.TryParse(json, out var evt, out var error), error);
        Assert.Equal(new ClickEvent("u-42", "sku-9", EventType.View, new DateTimeOffset(2026, 11, 22, 7, 49, 13, TimeSpan.Zero), "s-1"), evt);
    }

    [Fact]
    public void Accepts_epoch_milliseconds_offsets_and_optional_fields()
    {
        var json = """{"userId":"u","itemId":"i","type":"purchase","timestamp":1763797753123,"quantity":3,"price":9.5,"extra":{"ignored":[1,2]}}"""u8;

        Assert.True(EventSchema.TryParse(json, out var evt, out var error), error);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1763797753123), evt.Timestamp);
        Assert.Equal(3, evt.Quantity);
        Assert.Equal(9.5m, evt.Price);
        Assert.Equal(EventType.Purchase, evt.Type);

        Assert.True(EventSchema.TryParse("""{"userId":"u","itemId":"i","type":"click","timestamp":"2026-11-22T09:49:13+02:00"}"""u8, out var shifted, out _));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 7, 49, 13, TimeSpan.Zero), shifted.Timestamp);

        // No offset means UTC on every machine.
        Assert.True(EventSchema.TryParse("""{"userId":"u","itemId":"i","type":"click","timestamp":"2026-11-22T07:49:13"}"""u8, out var bare, out _));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 7, 49, 13, TimeSpan.Zero), bare.Timestamp);
    }

    [Theory]
    [InlineData("""{"itemId":"i","type":"view","timestamp":1763797753000}""", "'userId' is required")]
    [InlineData("""{"userId":"","itemId":"i","type":"view","timestamp":1763797753000}""", "non-empty")]
    [InlineData("""{"userId":42,"itemId":"i","type":"view","timestamp":1763797753000}""", "must be a string")]
    [InlineData("""{"userId":"u","itemId":"i\u0007","type":"view","timestamp":1763797753000}""", "control character")]
    [InlineData("""{"userId":"\u202egnp.exe","itemId":"i","type":"view","timestamp":1763797753000}""", "'userId' contains an invisible format character (U+202E)")]
    [InlineData("""{"userId":"u","itemId":"sku\u200b1","type":"view","timestamp":1763797753000}""", "'itemId' contains an invisible format character (U+200B)")]
    [InlineData("""{"userId":"\ufeffu","itemId":"i","type":"view","timestamp":1763797753000}""", "(U+FEFF)")]
    [InlineData("""{"userId":"u\udb40\udc01","itemId":"i","type":"view","timestamp":1763797753000}""", "(U+E0001)")]
    [InlineData("""{"userId":"u","itemId":"i","type":"view","timestamp":1763797753000,"sessionId":"s\u2066"}""", "'sessionId' contains an invisible format character (U+2066)")]
    [InlineData("""{"userId":"u","itemId":"i","type":"like","timestamp":1763797753000}""", "expected one of view, click, add_to_cart, purchase")]
    [InlineData("""{"userId":"u","itemId":"i","type":"view"}""", "'timestamp' is required")]
    [InlineData("""{"userId":"u","itemId":"i","type":"view","timestamp":"yesterday"}""", "not an ISO-8601")]
    [InlineData("""{"userId":"u","itemId":"i","type":"view","timestamp":"1899-01-01T00:00:00Z"}""", "outside")]
    [InlineData("""{"userId":"u","itemId":"i","type":"view","timestamp":99999999999999}""", "outside")]
    [InlineData("""{"userId":"u","userId":"v","itemId":"i","type":"view","timestamp":1763797753000}""", "appears twice")]
    [InlineData("""{"userId":"u","itemId":"i","type":"view","timestamp":1763797753000,"quantity":1.5}""", "whole number")]
    [InlineData("""{"userId":"u","itemId":"i","type":"view","timestamp":1763797753000,"price":-1}""", "negative")]
    [InlineData("""[{"userId":"u"}]""", "must be a JSON object")]
    [InlineData("""{"userId":"u",""", "malformed JSON")]
    [InlineData("""{"userId":"u","itemId":"i","type":"view","timestamp":1763797753000} {}""", "after a single JSON value")]
    [InlineData("", "malformed JSON")]
    public void Rejects_invalid_events_with_a_reason(string json, string reason)
    {
        Assert.False(EventSchema.TryParse(Encoding.UTF8.GetBytes(json), out var evt, out var error));
        Assert.Null(evt);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_ids_longer_than_256_utf8_bytes_but_accepts_256()
    {
        var ok = new string('é', 128); // 2 bytes each
        var tooLong = ok + "x";
        Assert.Null(EventSchema.ValidateId("userId", ok));
        Assert.Contains("256 UTF-8 bytes", EventSchema.ValidateId("userId", tooLong), StringComparison.Ordinal);
        Assert.Contains("256 UTF-8 bytes", EventSchema.ValidateId("userId", new string('a', 10_000)), StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_invalid_utf8()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"userId":"u?","itemId":"i","type":"view","timestamp":1763797753000}""");
        bytes[12] = 0xC3; // a lead byte followed by '"' is not UTF-8
        Assert.False(EventSchema.TryParse(bytes, out _, out var error));
        Assert.Contains("malformed JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Canonical_form_round_trips_exactly()
    {
        var evt = new ClickEvent("ü-1", "sku \"9\"", EventType.AddToCart, DateTimeOffset.FromUnixTimeMilliseconds(1763797753123), "s", 2, 19.99m);

        Assert.True(EventSchema.TryParse(EventSchema.ToUtf8(evt), out var back, out var error), error);
        Assert.Equal(evt, back);
    }

    [Fact]
    public void TryRead_leaves_the_reader_after_an_invalid_element_so_the_next_one_is_read()
    {
        var json = """[{"userId":"a","itemId":"i","type":"view","timestamp":1763797753000},{"userId":{"deep":[1,{"x":2}]},"itemId":"i"},7,{"userId":"b","itemId":"j","type":"click","timestamp":1763797753000}]"""u8;
        var reader = new Utf8JsonReader(json);
        reader.Read();
        var results = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            results.Add(EventSchema.TryRead(ref reader, out var evt, out var error) ? evt.UserId : "error: " + error);
        }

        Assert.Equal(4, results.Count);
        Assert.Equal("a", results[0]);
        Assert.StartsWith("error: field 'userId' must be a string", results[1], StringComparison.Ordinal);
        Assert.StartsWith("error: an event must be a JSON object", results[2], StringComparison.Ordinal);
        Assert.Equal("b", results[3]);
    }
}
