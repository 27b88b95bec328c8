using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using RecoCluster.Tests.Infrastructure;

namespace RecoCluster.Tests.Integration;

/// <summary>A collection that xUnit runs after all the parallel ones, alone: so the statuses it audits are those
/// of the whole run.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AfterAllCollection
{
    public const string Name = "after all";
}

/// <summary>
/// The OpenAPI document against real traffic: every status any test received from a gateway, for an operation the
/// document describes, is one the document lists for that operation, so a generated client handles what the API
/// really answers. <see cref="GatewayApiTests.The_openapi_document_lists_every_status_each_endpoint_answers"/>
/// checks the declared list; this checks what was seen.
/// </summary>
[Collection(AfterAllCollection.Name)]
public sealed class ObservedStatusesTests
{
    [Fact]
    public async Task Every_status_the_tests_received_is_listed_in_the_openapi_document()
    {
        var seen = ObservedStatuses.Snapshot();
        await using var gateway = await GatewayOnly.StartAsync();
        using var client = gateway.Client(null);
        var document = await client.GetFromJsonAsync<JsonElement>(new Uri("/openapi/v1.json", UriKind.Relative));

        // Each documented operation: its path template as a pattern (a parameter is one path segment) and the
        // statuses it lists.
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject()
                .Where(op => op.Name is "get" or "post" or "put" or "patch" or "delete")
                .Select(op => (
                    Name: $"{op.Name.ToUpperInvariant()} {path.Name}",
                    Method: op.Name.ToUpperInvariant(),
                    Pattern: new Regex("^" + Regex.Replace(Regex.Escape(path.Name), @"\\\{[^/]+?\}", "[^/]+") + "$", RegexOptions.CultureInvariant),
                    Listed: op.Value.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet(StringComparer.Ordinal))))
            .ToList();

        var matched = seen
            .Select(s => (Seen: s, Operation: operations.FirstOrDefault(o => o.Method == s.Method && o.Pattern.IsMatch(s.Path))))
            .Where(m => m.Operation.Name is not null)
            .ToList();
        Assert.True(matched.Count > 0, $"No response of a documented operation was seen in this run ({seen.Count} other responses): this test audits what the other tests received, so run it with them (./reco test).");

        var undocumented = matched
            .Where(m => !m.Operation.Listed.Contains(m.Seen.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Select(m => $"{m.Operation.Name} answered {m.Seen.Status} ({m.Seen.Count}×, e.g. {m.Seen.Method} {m.Seen.Path}) but lists only {string.Join(", ", m.Operation.Listed.Order(StringComparer.Ordinal))}")
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.True(undocumented.Count == 0, string.Join("\n", undocumented));

        // The tests reach every operation of the API, so an operation never seen means a client that bypasses
        // the recorder or a test that was lost.
        var reached = matched.Select(m => m.Operation.Name).ToHashSet(StringComparer.Ordinal);
        var missed = operations.Select(o => o.Name).Where(n => !reached.Contains(n)).ToList();
        Assert.True(missed.Count == 0, $"no test reached {string.Join(", ", missed)}");
    }
}
