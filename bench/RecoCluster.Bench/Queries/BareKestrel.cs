using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using RecoCluster.Host;

namespace RecoCluster.Bench.Queries;

/// <summary>
/// The ceiling of the query bench: Kestrel on loopback in the same process, answering every request with a fixed
/// JSON body the size of a real recommendation answer. No routing, no authentication, no hop to a silo, so what
/// it measures is what any answer costs here (client, loopback, Kestrel, the bench's own scheduling), and the
/// ratio of a real endpoint to it is what the cluster adds.
/// </summary>
public sealed class BareKestrel : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BareKestrel(WebApplication app, byte[] body)
    {
        _app = app;
        Address = new Uri(app.Urls.First());
        BodyBytes = body.Length;
    }

    public Uri Address { get; }

    public int BodyBytes { get; }

    /// <summary>Starts it on a free loopback port: HTTP, or HTTPS with <paramref name="tls"/>'s certificate, so that
    /// a run over TLS compares with a ceiling that pays for TLS too.</summary>
    public static async Task<BareKestrel> StartAsync(SelfSignedCertificate? tls = null)
    {
        var body = Body();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (tls is null)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            var certificate = X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        }

        var app = builder.Build();
        app.Run(async context =>
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        });
        await app.StartAsync();
        return new BareKestrel(app, body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // Ten scored items, as GET /v1/users/{id}/recommendations?count=10 will answer: about 450 bytes.
    private static byte[] Body()
    {
        var items = string.Join(',', Enumerable.Range(0, 10).Select(i => $$"""{"itemId":"sku-{{1000 + (i * 37)}}","score":0.{{987654 - (i * 4321)}}""" + "}"));
        return Encoding.UTF8.GetBytes($$"""{"userId":"u-12345","count":10,"items":[{{items}}],"source":"bench"}""");
    }
}
