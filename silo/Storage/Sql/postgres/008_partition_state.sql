-- Users and items move out of Orleans' per-grain rows (reco_grain_state) into tables of their own: a partition's
-- ingress stores the users of a batch in one transaction with the batch's item side (reco_ingress), and an item
-- shard stores its items in one transaction with its watermarks. Rows already in reco_grain_state are moved here at
-- start-up (GrainStore.MoveLegacyStatesAsync).

-- One row per user: the user's model (UserGrainStateCodec) and the end of the last batch that changed it.
CREATE TABLE reco_user (
    user_id        TEXT    NOT NULL PRIMARY KEY,
    last_batch_end BIGINT  NOT NULL,      -- end (exclusive) of the last batch stored for the user
    payload        BYTEA   NOT NULL,
    updated_ms     BIGINT  NOT NULL
);

-- One row per item: its counts, rows and vector (ItemGrainStateCodec).
CREATE TABLE reco_item (
    item_id    TEXT    NOT NULL PRIMARY KEY,
    shard_id   INTEGER NOT NULL,          -- the item shard that owns it
    payload    BYTEA   NOT NULL,
    updated_ms BIGINT  NOT NULL
);

-- One row per item shard: the epoch that fences an older activation's writes, the shard count (which cannot
-- change once items are stored), and per events partition the end of the last batch the shard stored.
CREATE TABLE reco_item_shard (
    shard_id    INTEGER NOT NULL PRIMARY KEY,
    shard_count INTEGER NOT NULL,
    epoch       BIGINT  NOT NULL,
    watermarks  BYTEA   NOT NULL,
    updated_ms  BIGINT  NOT NULL
);
