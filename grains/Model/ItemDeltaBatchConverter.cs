using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>How an <see cref="ItemDeltaBatch"/> is serialized between silos: as <see cref="ItemDeltaCodec"/>'s bytes
/// (the type's remarks say why). Orleans finds it by its attribute and uses it only for a call that leaves the
/// silo; a local call hands the batch over as it is.</summary>
[RegisterConverter]
public sealed class ItemDeltaBatchConverter(IServiceProvider services) : IConverter<ItemDeltaBatch, ItemDeltaBatchSurrogate>
{
    // A silo's item id table (none in a client, which never receives a batch): a batch that arrives is numbered by
    // it, each id looked up once, so the shard adds the batch without a lookup per row entry.
    private readonly ItemIdTable? _ids = services.GetService(typeof(ItemIdTable)) as ItemIdTable;

    public ItemDeltaBatch ConvertFromSurrogate(in ItemDeltaBatchSurrogate surrogate) =>
        new(ItemDeltaCodec.Decode(surrogate.Payload ?? throw new InvalidDataException("an item delta batch arrived without its payload"), _ids));

    public ItemDeltaBatchSurrogate ConvertToSurrogate(in ItemDeltaBatch value) => new() { Payload = ItemDeltaCodec.Encode(value.Deltas) };
}

/// <summary>The serialized form of an <see cref="ItemDeltaBatch"/>: <see cref="ItemDeltaCodec"/>'s bytes.</summary>
[GenerateSerializer, Alias("reco.ItemDeltaBatch")]
public struct ItemDeltaBatchSurrogate
{
    [Id(0)]
    public byte[] Payload;
}
