-- An item shard stores a changed item either whole (reco_item) or as the change since its last write, appended
-- here: a busy item's row is long, and rewriting it whole at every write made most of the bytes an ingest wrote
-- (docs/benchmarks.md, "Ingest on the Orleans path"). A change is an ItemGrainStateCodec payload of counts and row
-- entries to add and the vector as it then was; an item's state is its reco_item row plus its log entries in seq
-- order. Once an item's log would outgrow its row (or hold too many entries), the shard writes the item whole and
-- deletes its log, in the same transaction.
CREATE TABLE reco_item_log (
    item_id TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    payload BYTEA   NOT NULL,
    PRIMARY KEY (item_id, seq)
);
