-- Orleans cluster membership over ADO.NET (Microsoft.Orleans.Clustering.AdoNet), PostgreSQL dialect. The project's
-- own tables and queries, written from the provider's contract (docs/architecture.md, "Membership"): Orleans loads
-- the statements it runs from the table orleansquery by key, binds its parameters by name, reads result columns
-- by name, and treats a one-row, one-column 1 as success. SQLite clusters use Orleans' localhost clustering and
-- have no such tables.

-- One row per cluster (Orleans' ClusterId, which the provider calls DeploymentId): the membership version, which
-- every change of a member must move on from the value the silo last read (optimistic concurrency).
CREATE TABLE reco_membership_version (
    deployment_id TEXT        NOT NULL PRIMARY KEY,
    version       INTEGER     NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- One row per silo incarnation (address, port, generation): its status (Orleans' SiloStatus: 3 active, 6 dead),
-- the suspicions other silos raised against it, and its heartbeat.
CREATE TABLE reco_membership (
    deployment_id   TEXT        NOT NULL REFERENCES reco_membership_version (deployment_id),
    address         TEXT        NOT NULL,
    port            INTEGER     NOT NULL,
    generation      INTEGER     NOT NULL,
    silo_name       TEXT        NOT NULL,
    host_name       TEXT        NOT NULL,
    status          INTEGER     NOT NULL,
    proxy_port      INTEGER     NULL,        -- the silo's gateway port for clients; NULL or 0: no gateway
    suspect_times   TEXT        NULL,        -- Orleans' own encoding of (suspecting silo, time) pairs
    start_time      TIMESTAMPTZ NOT NULL,
    i_am_alive_time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- The statements, by the key Orleans looks them up with. Orleans reads this table unquoted, hence its lower-case
-- name; the column aliases below are the names it reads.
CREATE TABLE orleansquery (
    querykey  TEXT NOT NULL PRIMARY KEY,
    querytext TEXT NOT NULL
);

INSERT INTO orleansquery (querykey, querytext) VALUES
-- Creates the cluster's version row unless it exists; 1 when created, 0 when it was there.
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO reco_membership_version (deployment_id, version, updated_at)
    VALUES (@DeploymentId, 0, now())
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1)
SELECT count(*)::int FROM created;
$q$),

-- Adds a silo incarnation, only if it is new and the version is still the one the silo read; moves the version on.
('InsertMembershipKey', $q$
WITH moved AS (
    UPDATE reco_membership_version SET version = version + 1, updated_at = now()
     WHERE deployment_id = @DeploymentId AND version = @Version
       AND NOT EXISTS (SELECT 1 FROM reco_membership
                        WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING deployment_id),
added AS (
    INSERT INTO reco_membership (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port,
                                 suspect_times, start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
           NULL, @StartTime, @IAmAliveTime
      FROM moved
    RETURNING 1)
SELECT count(*)::int FROM added;
$q$),

-- Changes a silo's status, suspicions and heartbeat, only if the version is still the one the silo read.
('UpdateMembershipKey', $q$
WITH moved AS (
    UPDATE reco_membership_version SET version = version + 1, updated_at = now()
     WHERE deployment_id = @DeploymentId AND version = @Version
       AND EXISTS (SELECT 1 FROM reco_membership
                    WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING deployment_id),
changed AS (
    UPDATE reco_membership m
       SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
      FROM moved
     WHERE m.deployment_id = moved.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1)
SELECT count(*)::int FROM changed;
$q$),

-- The heartbeat: not a membership change, so the version stays.
('UpdateIAmAlivetimeKey', $q$
UPDATE reco_membership SET i_am_alive_time = @IAmAliveTime
 WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;
$q$),

-- One silo incarnation with the version; without such a member, one row with the version and no start time.
('MembershipReadRowKey', $q$
SELECT v.version AS Version, m.address AS Address, m.port AS Port, m.generation AS Generation,
       m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
       m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime
  FROM reco_membership_version v
  LEFT JOIN reco_membership m
    ON m.deployment_id = v.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
 WHERE v.deployment_id = @DeploymentId;
$q$),

-- Every member with the version; without members, one row with the version and no start time.
('MembershipReadAllKey', $q$
SELECT v.version AS Version, m.address AS Address, m.port AS Port, m.generation AS Generation,
       m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
       m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime
  FROM reco_membership_version v
  LEFT JOIN reco_membership m ON m.deployment_id = v.deployment_id
 WHERE v.deployment_id = @DeploymentId;
$q$),

-- The whole cluster's membership (tools and tests; a running silo never asks for it).
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM reco_membership WHERE deployment_id = @DeploymentId;
DELETE FROM reco_membership_version WHERE deployment_id = @DeploymentId;
$q$),

-- Forgets dead silo incarnations whose last heartbeat is older than the cutoff.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM reco_membership
 WHERE deployment_id = @DeploymentId AND status = 6 AND i_am_alive_time < @IAmAliveTime;
$q$),

-- The gateways a client may connect to: active silos that listen for clients.
('GatewaysQueryKey', $q$
SELECT address AS Address, proxy_port AS ProxyPort, generation AS Generation
  FROM reco_membership
 WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
$q$);
