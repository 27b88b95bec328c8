namespace RecoCluster.Grains.Model;

/// <summary>An item as read from storage: its state (the stored row with its log entries added) and how it is
/// stored.</summary>
/// <param name="State">The item's state.</param>
/// <param name="Form">Its stored row and log, as the item's shard needs to know for its next write.</param>
public sealed record StoredItem(ItemGrainState State, ItemStoredForm Form);
