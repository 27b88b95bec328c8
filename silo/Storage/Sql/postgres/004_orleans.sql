-- The Orleans runtime's tables, PostgreSQL dialect.

-- Orleans grain state (GroupCommitGrainStorage): one row per (state name, grain id). version is the ETag: every
-- write is conditional on the version the grain read, so a second activation of a grain cannot overwrite the
-- first one's writes unnoticed.
CREATE TABLE reco_grain_state (
    state_name   TEXT    NOT NULL,      -- 'user', 'item', ...
    grain_id     TEXT    NOT NULL,      -- Orleans' GrainId, as text
    version      BIGINT  NOT NULL,
    payload      BYTEA   NOT NULL,      -- UTF-8 JSON
    updated_ms   BIGINT  NOT NULL,
    PRIMARY KEY (state_name, grain_id)
);

-- One row per events partition read by a partition ingress grain. epoch increases on every claim and fences the
-- earlier reader; pending_end is the end of the batch in flight, written before any of it is sent, so that a new
-- reader after a crash cuts exactly the same batch again.
CREATE TABLE reco_ingress (
    partition_id INTEGER NOT NULL PRIMARY KEY,
    epoch        BIGINT  NOT NULL,
    next_offset  BIGINT  NOT NULL,      -- every record below it is stored in the user and item grains; -1 = none
    pending_end  BIGINT  NULL,          -- end (exclusive) of the batch in flight, or NULL
    updated_ms   BIGINT  NOT NULL
);
