-- Every statement kind the cluster rewrite handles (cluster_test.go).
CREATE TABLE IF NOT EXISTS events (
    k       String,
    at      DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(at)
ORDER BY k;

CREATE TABLE log (k String, n UInt32) ENGINE = MergeTree ORDER BY k SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS totals (k String, n AggregateFunction(max, UInt32)) ENGINE = AggregatingMergeTree() ORDER BY k;

CREATE TABLE IF NOT EXISTS events_replay AS events ENGINE = Null;

CREATE VIEW IF NOT EXISTS folded AS
SELECT k, max(version) AS v FROM (SELECT k, version FROM events WHERE k != 'FROM log') ANY LEFT JOIN log USING (k) GROUP BY k;

CREATE MATERIALIZED VIEW IF NOT EXISTS totals_mv TO totals AS
SELECT k, maxState(n) AS n FROM (SELECT k, toUInt32(version) AS n FROM events) GROUP BY k;

CREATE MATERIALIZED VIEW IF NOT EXISTS replay_mv TO totals AS
SELECT k, maxState(toUInt32(version)) AS n FROM events_replay GROUP BY k;

INSERT INTO events_replay (k, at, version) SELECT k, at, version FROM events;

ALTER TABLE log ADD COLUMN extra String;

ALTER TABLE events DELETE WHERE k = '';

DROP TABLE IF EXISTS replay_mv;

DROP TABLE IF EXISTS log;
