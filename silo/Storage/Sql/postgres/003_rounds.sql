-- Neighborhood rounds (the cluster-wide batch grain), PostgreSQL dialect.

-- One row per round. state: 'counting' -> 'scoring' -> 'complete', or 'abandoned' (timed out). Only the
-- holder of the control partition's current epoch may create a round or move its state (the statements check
-- reco_partition), so a coordinator that lost the control partition cannot publish anything.
CREATE TABLE reco_round (
    version       BIGINT  NOT NULL PRIMARY KEY,
    state         TEXT    NOT NULL,
    partitions    INTEGER NOT NULL,      -- item partitions that must each write a part per phase
    started_ms    BIGINT  NOT NULL,
    completed_ms  BIGINT ,
    owner         TEXT    NOT NULL
);

-- The parts of a round: per phase ('counts', 'entries') and item partition, written by the partition's owner
-- (checked against the partition's epoch). A version becomes visible only once every 'entries' part exists
-- and the coordinator has marked it complete.
CREATE TABLE reco_round_part (
    version       BIGINT  NOT NULL,
    phase         TEXT    NOT NULL,
    partition_id  INTEGER NOT NULL,
    payload       BYTEA   NOT NULL,
    written_ms    BIGINT  NOT NULL,
    PRIMARY KEY (version, phase, partition_id)
);
