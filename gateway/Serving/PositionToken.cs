using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace RecoCluster.Gateway.Serving;

/// <summary>
/// A read-your-writes position: for some events partitions, the offset after the last event a writer had
/// acknowledged. <c>POST /v1/events</c> answers one (header <see cref="Header"/> and the body's <c>position</c>), a
/// read may carry one back in the same header, through any gateway. Text form: <c>partition:offset</c> pairs
/// separated by commas, partitions ascending (<c>3:1206,7:88</c>); opaque to clients, who only pass it on.
/// </summary>
public sealed class PositionToken
{
    /// <summary>The header that carries a position, on answers to writes and on reads.</summary>
    public const string Header = "Reco-Position";

    /// <summary>The header set to <c>true</c> on a read that could not wait for its whole position.</summary>
    public const string BehindHeader = "Reco-Behind";

    /// <summary>Longest accepted text: a position names at most a few hundred partitions.</summary>
    public const int MaxLength = 8_192;

    private readonly SortedDictionary<int, long> _offsets;

    private PositionToken(SortedDictionary<int, long> offsets) => _offsets = offsets;

    /// <summary>The partitions it names, each with its offset.</summary>
    public IReadOnlyDictionary<int, long> Offsets => _offsets;

    /// <summary>A position from partition → offset pairs; null when there are none.</summary>
    public static PositionToken? From(IEnumerable<KeyValuePair<int, long>> offsets)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        var sorted = new SortedDictionary<int, long>();
        foreach (var (partition, offset) in offsets)
        {
            sorted[partition] = sorted.TryGetValue(partition, out var known) ? Math.Max(known, offset) : offset;
        }

        return sorted.Count == 0 ? null : new PositionToken(sorted);
    }

    /// <summary>The offset it names for <paramref name="partition"/>, or 0 (nothing to wait for).</summary>
    public long For(int partition) => _offsets.GetValueOrDefault(partition);

    /// <summary>Parses a header's value; <paramref name="error"/> says what is wrong with one that does not parse.</summary>
    public static bool TryParse(string? text, out PositionToken? token, out string? error)
    {
        token = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = $"{Header} is empty; send the position a write answered, or no header";
            return false;
        }

        if (text.Length > MaxLength)
        {
            error = $"{Header} is {text.Length} characters long; at most {MaxLength} are accepted";
            return false;
        }

        var offsets = new SortedDictionary<int, long>();
        foreach (var pair in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0
                || !int.TryParse(pair.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
                || !long.TryParse(pair.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                error = $"{Header} has '{Shorten(pair)}' where 'partition:offset' (two non-negative integers) belongs";
                return false;
            }

            if (!offsets.TryAdd(partition, offset))
            {
                error = $"{Header} names partition {partition} twice";
                return false;
            }
        }

        token = new PositionToken(offsets);
        return true;
    }

    /// <summary>The position a request carries in <see cref="Header"/> (bound by ASP.NET Core, so that the OpenAPI
    /// document lists the header): true with null when it carries none, false with <paramref name="error"/> when
    /// the value does not parse.</summary>
    public static bool TryFromHeader(string? value, out PositionToken? token, out string? error)
    {
        token = null;
        error = null;
        return value is null || TryParse(value, out token, out error);
    }

    /// <summary>Puts <paramref name="position"/>, the position after a write, in the answer's <see cref="Header"/>;
    /// returns its text for the answer's body (null when there is none).</summary>
    public static string? Answer(HttpContext context, PositionToken? position)
    {
        ArgumentNullException.ThrowIfNull(context);
        var text = position?.ToString();
        if (text is not null)
        {
            context.Response.Headers[Header] = text;
        }

        return text;
    }

    /// <summary>The answer to a request whose header does not parse: a 400 problem saying why.</summary>
    public static IResult Invalid(string? error) =>
        TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid position");

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var (partition, offset) in _offsets)
        {
            text.Append(text.Length == 0 ? string.Empty : ",").Append(partition.ToString(CultureInfo.InvariantCulture)).Append(':').Append(offset.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
