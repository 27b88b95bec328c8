using System.Text.Json;
using System.Text.Json.Serialization;

namespace RecoCluster.Grains.Interfaces;

/// <summary>
/// One record of the catalog topic (<c>reco.catalog</c>, key = item id, value = UTF-8 JSON, compacted): what
/// <c>PUT /v1/items/{itemId}</c> writes, and what a producer may write directly. A null value removes the item
/// from the catalog.
/// </summary>
/// <param name="ItemId">The item; must equal the record key.</param>
/// <param name="Category">Its category, or null.</param>
/// <param name="Tags">Its tags, or null for none.</param>
/// <param name="Price">Its unit price, or null.</param>
/// <param name="Available">Whether it may be recommended; absent means true.</param>
/// <param name="UpdatedAt">When the entry was written (set by the gateway).</param>
public sealed record CatalogEntry(string ItemId, string? Category, IReadOnlyList<string>? Tags, decimal? Price, bool? Available, DateTimeOffset? UpdatedAt);

/// <summary>The body of <c>PUT /v1/items/{itemId}</c>.</summary>
/// <param name="Category">The item's category.</param>
/// <param name="Tags">Its tags.</param>
/// <param name="Price">Its unit price (not negative).</param>
/// <param name="Available">False: never recommend it (out of stock, withdrawn).</param>
public sealed record CatalogUpdate(string? Category, IReadOnlyList<string>? Tags, decimal? Price, bool? Available);

/// <summary>Validation and encoding of catalog records.</summary>
public static class CatalogSchema
{
    /// <summary>Most tags an item may have.</summary>
    public const int MaxTags = 50;

    /// <summary>Returns null when <paramref name="update"/> is valid, else the reason.</summary>
    public static string? Validate(CatalogUpdate? update)
    {
        if (update is null)
        {
            return "the body must be a JSON object with 'category', 'tags', 'price' and/or 'available'";
        }

        if (update.Category is not null && EventSchema.ValidateId("category", update.Category) is { } categoryError)
        {
            return categoryError;
        }

        if (update.Tags is { } tags)
        {
            if (tags.Count > MaxTags)
            {
                return $"'tags' has {tags.Count} entries; at most {MaxTags} are allowed";
            }

            for (var i = 0; i < tags.Count; i++)
            {
                if (EventSchema.ValidateId($"tags[{i}]", tags[i]) is { } tagError)
                {
                    return tagError;
                }
            }
        }

        if (update.Price is < 0)
        {
            return "'price' must not be negative";
        }

        return null;
    }

    /// <summary>Encodes a record value (UTF-8 JSON, nulls left out).</summary>
    public static byte[] Encode(CatalogEntry entry) => JsonSerializer.SerializeToUtf8Bytes(entry, CatalogJsonContext.Default.CatalogEntry);

    /// <summary>Decodes a record; throws <see cref="JsonException"/> on malformed JSON.</summary>
    public static CatalogEntry? Decode(ReadOnlySpan<byte> value) => JsonSerializer.Deserialize(value, CatalogJsonContext.Default.CatalogEntry);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CatalogEntry))]
[JsonSerializable(typeof(CatalogUpdate))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext;
