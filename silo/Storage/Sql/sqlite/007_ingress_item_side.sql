-- The item side of the batch in flight, stored once per batch with its end (pending_end) before any item grain
-- sees it: a reader that takes over sends the items exactly this, so user grains no longer store their own share
-- of it with their state. NULL while no batch is in flight, and for a batch begun by a version before this script
-- (whose users still hold their share; PartitionIngressGrain reads it from them).
ALTER TABLE reco_ingress ADD COLUMN pending_item_side BLOB NULL;
