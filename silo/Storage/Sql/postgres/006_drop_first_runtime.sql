-- The first runtime's tables (partition claims and checkpoints, grain rows, item-side watermarks and the shuffle's
-- outbox) are no longer read or written: the Orleans runtime keeps grain state in reco_grain_state and partition
-- positions in reco_ingress. Its state cannot be carried over (it is another encoding of another runtime's
-- grains); a cluster upgraded from it replays reco.events (docs/operations.md, "Reprocessing from an offset").
DROP TABLE IF EXISTS reco_outbox;
DROP TABLE IF EXISTS reco_watermark;
DROP TABLE IF EXISTS reco_grain;
DROP TABLE IF EXISTS reco_partition;
