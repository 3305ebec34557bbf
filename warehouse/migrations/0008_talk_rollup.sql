-- Pre-aggregation for talk time at scale (docs/architecture.md, "Analytics";
-- the refresher and the queries are in analytics/talk*.go).
--
-- calls_agg is the fold of call_events (the rules of the calls view and
-- call.Fold) as -State columns, one row per (provider, call_id, at), where
-- `at` is when the events reached ClickHouse: the server's now() when the
-- materialized view folded the inserted block (for events stored before
-- this migration, when the backfill at the end replayed them). Folding all
-- rows of a call gives its calls-view row; folding only those with
-- at < T gives the call as ClickHouse knew it at T. That makes a talk-time
-- snapshot "as of a cutoff" a function of the stored data that any number
-- of refreshers agree on. The manager state is the max of (manager_rank,
-- manager) over events naming one: argMaxIf(manager, (manager_rank,
-- manager), manager != '') with the rank kept, so that folds of parts of a
-- call combine.
--
-- The view writes every row twice. Kind 0 is the fold, sorted by call, for
-- looking calls up. Kind 1 is the same row sorted by `at`, in one
-- partition per day, to find what arrived since a time; the refresher
-- drops its days once no snapshot needs them. One view writing both keeps
-- `at` identical in the two (two views would each read the clock).
CREATE TABLE IF NOT EXISTS calls_agg (
    kind          UInt8,
    provider      String,
    call_id       String,
    at            DateTime,
    direction     AggregateFunction(max, Enum8('unknown' = 0, 'inbound' = 1, 'outbound' = 2)),
    started_at    AggregateFunction(minIf, DateTime, UInt8),
    answered_at   AggregateFunction(minIf, DateTime, UInt8),
    ended_at      AggregateFunction(max, DateTime),
    client_phone  AggregateFunction(max, String),
    line_phone    AggregateFunction(max, String),
    line_source   AggregateFunction(max, String),
    manager       AggregateFunction(maxIf, Tuple(UInt8, String), UInt8),
    status        AggregateFunction(max, Enum8('none' = 0, 'missed' = 1, 'cancelled' = 2, 'failed' = 3, 'busy' = 4, 'answered' = 5)),
    talk_seconds  AggregateFunction(max, UInt32),
    recording_url AggregateFunction(max, String),
    recording_ref AggregateFunction(max, String)
) ENGINE = AggregatingMergeTree
PARTITION BY (kind, if(kind = 1, toYYYYMMDD(at, 'UTC'), 0))
ORDER BY (kind, if(kind = 1, at, toDateTime(0)), provider, call_id, at)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS calls_agg_mv TO calls_agg AS
SELECT
    arrayJoin([0, 1]) AS kind,
    provider,
    call_id,
    now() AS at,
    maxState(direction) AS direction,
    minIfState(started_at, started_at > toDateTime(0)) AS started_at,
    minIfState(answered_at, answered_at > toDateTime(0)) AS answered_at,
    maxState(ended_at) AS ended_at,
    maxState(client_phone) AS client_phone,
    maxState(line_phone) AS line_phone,
    maxState(line_source) AS line_source,
    maxIfState((manager_rank, manager), manager != '') AS manager,
    maxState(status) AS status,
    maxState(talk_seconds) AS talk_seconds,
    maxState(recording_url) AS recording_url,
    maxState(recording_ref) AS recording_ref
FROM call_events
GROUP BY provider, call_id;

-- Which calls mention a client phone, to find the calls whose category at
-- call time a new grade-history row may change. A call's folded phone is
-- the largest of its events' phones, so every call is listed under it.
CREATE TABLE IF NOT EXISTS call_phones (
    client_phone String,
    provider     String,
    call_id      String
) ENGINE = ReplacingMergeTree
ORDER BY (client_phone, provider, call_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS call_phones_mv TO call_phones AS
SELECT client_phone, provider, call_id
FROM call_events
WHERE client_phone != '';

-- client_categories with the time each row reached ClickHouse (`at`, as in
-- calls_agg), so that the category at call time can be taken "as of a
-- cutoff". Duplicates are harmless: readers take, per (phone, valid_from),
-- the row with the newest recorded_at (then the larger category), which is
-- also the row client_categories keeps when it merges.
CREATE TABLE IF NOT EXISTS category_log (
    phone       String,
    category    Enum8('unknown' = 0, 'A' = 1, 'B' = 2, 'C' = 3),
    valid_from  DateTime,
    recorded_at DateTime,
    at          DateTime
) ENGINE = MergeTree
ORDER BY (phone, valid_from);

CREATE MATERIALIZED VIEW IF NOT EXISTS category_log_mv TO category_log AS
SELECT phone, category, valid_from, recorded_at, now() AS at
FROM client_categories;

-- The talk-time rollup: talk seconds and answered calls by manager and
-- category at call time, as of a cutoff, at two grains. Rows of zone ''
-- are per quarter hour of the calls' start (bucket, UTC): every time zone
-- in use starts its days on a quarter hour, so they serve a query in any
-- zone. Rows of a zone such as 'Europe/Moscow' are per calendar day there
-- (bucket = that date at 00:00 UTC): the configured zone's queries read
-- 30 rows per manager and category for a month instead of 2,880.
--
-- Rows are written by refreshes (talk_refreshes): a root refresh writes a
-- whole snapshot and opens an epoch (its id); a delta refresh adds the
-- difference between its base's cutoff and its own. A snapshot is the sum
-- of the rows of the refreshes on its chain (the deltas back to the root).
-- Rows of a refresh not on the chain (a crash before its done marker, or a
-- concurrent refresher that lost) are never read, and whole epochs are
-- dropped once superseded.
CREATE TABLE IF NOT EXISTS talk_rollup (
    epoch    UInt64,
    refresh  UInt64,
    zone     String,
    bucket   DateTime,
    manager  String,
    category Enum8('unknown' = 0, 'A' = 1, 'B' = 2, 'C' = 3),
    seconds  Int64,
    calls    Int64
) ENGINE = MergeTree
PARTITION BY epoch
ORDER BY (zone, bucket, manager, category, refresh);

-- Done markers of refreshes, written after all of their rows. base is the
-- refresh whose snapshot this one adds to (0 for a root); cutoff is the
-- snapshot's cutoff; zone is the zone of the day rows it wrote ('' for
-- none); rebuilt is the cutoff of the last root built from calls_agg
-- (rather than compacted from a chain) in its history.
CREATE TABLE IF NOT EXISTS talk_refreshes (
    epoch   UInt64,
    id      UInt64,
    base    UInt64,
    cutoff  DateTime,
    zone    String,
    rebuilt DateTime,
    done_at DateTime
) ENGINE = MergeTree
PARTITION BY epoch
ORDER BY id;

-- Backfill of what was stored before this migration: the rows are
-- replayed through tables of engine Null that carry the same views, so
-- every block gets its own `at` when it is folded, as if it had just
-- arrived. (A single INSERT ... SELECT now() would stamp minutes of rows
-- with the time the statement started, and a snapshot taken meanwhile
-- would see some of them after its cutoff had passed them.) An event or
-- grade stored twice — the backfill racing the views, or a migration
-- interrupted and run again — folds to the same call and category, so
-- re-running is harmless.
CREATE TABLE IF NOT EXISTS call_events_replay AS call_events ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS calls_agg_replay_mv TO calls_agg AS
SELECT
    arrayJoin([0, 1]) AS kind,
    provider,
    call_id,
    now() AS at,
    maxState(direction) AS direction,
    minIfState(started_at, started_at > toDateTime(0)) AS started_at,
    minIfState(answered_at, answered_at > toDateTime(0)) AS answered_at,
    maxState(ended_at) AS ended_at,
    maxState(client_phone) AS client_phone,
    maxState(line_phone) AS line_phone,
    maxState(line_source) AS line_source,
    maxIfState((manager_rank, manager), manager != '') AS manager,
    maxState(status) AS status,
    maxState(talk_seconds) AS talk_seconds,
    maxState(recording_url) AS recording_url,
    maxState(recording_ref) AS recording_ref
FROM call_events_replay
GROUP BY provider, call_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS call_phones_replay_mv TO call_phones AS
SELECT client_phone, provider, call_id
FROM call_events_replay
WHERE client_phone != '';

INSERT INTO call_events_replay (provider, call_id, event_key, received_at, direction, started_at, answered_at,
    ended_at, client_phone, line_phone, line_source, manager, manager_rank, status, talk_seconds, recording_url,
    recording_ref, spool_seq)
SELECT provider, call_id, event_key, received_at, direction, started_at, answered_at,
    ended_at, client_phone, line_phone, line_source, manager, manager_rank, status, talk_seconds, recording_url,
    recording_ref, spool_seq
FROM call_events;

CREATE TABLE IF NOT EXISTS client_categories_replay AS client_categories ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS category_log_replay_mv TO category_log AS
SELECT phone, category, valid_from, recorded_at, now() AS at
FROM client_categories_replay;

INSERT INTO client_categories_replay (phone, category, valid_from, origin, recorded_at)
SELECT phone, category, valid_from, origin, recorded_at
FROM client_categories;

DROP TABLE IF EXISTS calls_agg_replay_mv;

DROP TABLE IF EXISTS call_phones_replay_mv;

DROP TABLE IF EXISTS category_log_replay_mv;

DROP TABLE IF EXISTS call_events_replay;

DROP TABLE IF EXISTS client_categories_replay;
