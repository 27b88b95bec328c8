-- The shuffle's exactly-once bookkeeping, PostgreSQL dialect.

-- Item side: per (item-deltas partition, source events partition), the end of the last batch applied. A batch
-- whose end is at or below it is a re-send and is dropped. Written in the item partition's checkpoint.
CREATE TABLE reco_watermark (
    topic            TEXT    NOT NULL,
    partition_id     INTEGER NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    BIGINT  NOT NULL,
    PRIMARY KEY (topic, partition_id, source_partition)
);

-- User side: combined item deltas of a checkpointed batch, written in the same transaction as the user states
-- and offset, produced to the item-deltas topic after commit, deleted once Kafka has acknowledged them.
CREATE TABLE reco_outbox (
    source_topic     TEXT    NOT NULL,
    source_partition INTEGER NOT NULL,
    batch_end        BIGINT  NOT NULL,
    target_partition INTEGER NOT NULL,
    payload          BYTEA   NOT NULL,
    PRIMARY KEY (source_topic, source_partition, batch_end, target_partition)
);
