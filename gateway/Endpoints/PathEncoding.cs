using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace RecoCluster.Gateway.Endpoints;

/// <summary>
/// Refuses paths whose percent-encoded bytes are not UTF-8. Kestrel leaves such sequences undecoded, so
/// <c>/v1/users/a%C3%28</c> would reach the endpoint as the literal id <c>a%C3%28</c>, which looks valid: a
/// client meaning some other user would read, or erase, the wrong one. The raw request target is the only place
/// where the two can be told apart.
/// </summary>
public static class PathEncoding
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static WebApplication UseStrictPathEncoding(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(async (context, next) =>
        {
            var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
            var query = raw.IndexOf('?', StringComparison.Ordinal);
            if (!IsValid(query >= 0 ? raw[..query] : raw))
            {
                await TypedResults.Problem(
                    "the path holds percent-encoded bytes that are not UTF-8; encode ids as UTF-8 before percent-encoding them",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Invalid path encoding").ExecuteAsync(context);
                return;
            }

            await next(context);
        });
        return app;
    }

    /// <summary>Whether every run of percent-encoded bytes in <paramref name="path"/> decodes as UTF-8.</summary>
    public static bool IsValid(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.Contains('%', StringComparison.Ordinal))
        {
            return true; // the common case, on every request: nothing to decode, nothing allocated
        }

        var bytes = new List<byte>();
        for (var i = 0; i <= path.Length; i++)
        {
            if (i + 2 < path.Length && path[i] == '%' && Uri.IsHexDigit(path[i + 1]) && Uri.IsHexDigit(path[i + 2]))
            {
                bytes.Add((byte)Convert.ToInt32(path.Substring(i + 1, 2), 16));
                i += 2;
                continue;
            }

            if (bytes.Count > 0)
            {
                try
                {
                    _ = StrictUtf8.GetString([.. bytes]);
                }
                catch (DecoderFallbackException)
                {
                    return false;
                }

                bytes.Clear();
            }
        }

        return true;
    }
}
