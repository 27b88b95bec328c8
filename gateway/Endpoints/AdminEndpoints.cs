using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RecoCluster.Cluster;

namespace RecoCluster.Gateway.Endpoints;

/// <summary><c>/v1/admin</c>: the cluster as the directory and the silos report it.</summary>
public static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var admin = app.MapGroup("/v1/admin");
        admin.MapGet("/cluster", GetClusterAsync);
        return app;
    }

    internal static async Task<IResult> GetClusterAsync(ClusterDirectory directory, HttpClient http, CancellationToken ct)
    {
        var live = directory.Live();
        var details = await Task.WhenAll(live.Select(async entry =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(1));
                using var response = await http.GetAsync(new Uri(entry.Endpoint + "/internal/v1/silo"), timeout.Token);
                return response.IsSuccessStatusCode
                    ? JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync(timeout.Token))
                    : (JsonElement?)null;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException)
            {
                return null;
            }
        }));

        return TypedResults.Ok(new
        {
            partitionCount = directory.PartitionCount(),
            silos = live.Select((entry, i) => new
            {
                siloId = entry.SiloId,
                endpoint = entry.Endpoint,
                partitions = entry.Partitions,
                changedAt = DateTimeOffset.FromUnixTimeMilliseconds(entry.ChangedAtMs),
                heartbeatAt = DateTimeOffset.FromUnixTimeMilliseconds(entry.HeartbeatAtMs),
                reachable = details[i] is not null,
                detail = details[i],
            }),
        });
    }
}
