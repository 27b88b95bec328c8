-- RecoCluster grain storage, PostgreSQL dialect. Applied once, in a transaction, by SchemaMigrator.

-- One row per (topic, partition): where its state is consistent to, and who may write it.
-- epoch increases on every claim; a checkpoint only commits if the epoch it claimed is still current, which
-- fences a silo that has lost the partition (it can no longer write state for it).
CREATE TABLE reco_partition (
    topic        TEXT    NOT NULL,
    partition_id INTEGER NOT NULL,
    epoch        BIGINT  NOT NULL,
    next_offset  BIGINT  NOT NULL,      -- first offset not yet reflected in the stored grain states; -1 = none
    owner        TEXT    NOT NULL,
    updated_ms   BIGINT  NOT NULL,
    PRIMARY KEY (topic, partition_id)
);

-- Grain states, written only inside a partition checkpoint transaction.
CREATE TABLE reco_grain (
    kind         TEXT    NOT NULL,      -- 'user', 'item', ...
    grain_key    TEXT    NOT NULL,
    topic        TEXT    NOT NULL,
    partition_id INTEGER NOT NULL,
    version      BIGINT  NOT NULL,      -- bumped on every write
    state        BYTEA   NOT NULL,
    updated_ms   BIGINT  NOT NULL,
    PRIMARY KEY (kind, grain_key)
);

CREATE INDEX reco_grain_partition ON reco_grain (topic, partition_id);
