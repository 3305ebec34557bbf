-- Arrival-time ends (docs/security.md, F9). Some PBX events say that a
-- call ended but not when (Gravitel's cmd=event COMPLETED and CANCELLED):
-- their end is when callpulse received them (call.Event.ArrivalEnd), so a
-- re-delivery or a replay says a later end. The writer stores such an end
-- in arrival_ended_at, with ended_at 0; every other end stays in ended_at,
-- on the PBX's clock. A call's end is its latest ended_at if it has one,
-- else its latest arrival_ended_at (call.Fold): once the PBX reports the
-- end itself (Gravitel's history), a late or replayed COMPLETED changes
-- nothing.
--
-- Rows stored before this migration (and rows an older callpulse still
-- writes, naming no arrival_ended_at) have arrival_ended_at 0: their ends
-- count as on the PBX's clock, which is how they folded before, so every
-- stored call folds as it did.
--
-- calls_agg gets the state of the new column, and a new materialized view
-- that fills it replaces calls_agg_mv. ClickHouse 18.16 cannot change a
-- view's query, and a view dropped before its successor exists would let
-- inserts through unfolded, lost to calls_agg. So the successor is created
-- first, then the old view dropped: no insert meets no view. From the
-- ALTER of calls_agg until calls_agg_mv is dropped, 18.16 refuses
-- calls_agg_mv's writes ("Expected column arrival_ended_at"), so inserts
-- into call_events fail, and the writer retries them from the spool.
-- (Migrations run before this daemon's writer starts; the moment matters
-- only to other daemons writing meanwhile.) A failed insert may be partly
-- stored (call_events, other views); its retry stores it again, which
-- folds the same: call_events collapses exact duplicates, and every state
-- is a min or a max.
--
-- ADD COLUMN has no IF NOT EXISTS in 18.16; the migrator skips it when
-- the column exists (warehouse/migrate_columns.go). The columns come
-- right after ended_at.
ALTER TABLE call_events ADD COLUMN arrival_ended_at DateTime AFTER ended_at;

ALTER TABLE calls_agg ADD COLUMN arrival_ended_at AggregateFunction(max, DateTime) AFTER ended_at;

-- calls_agg_mv of 0008 with the new state.
CREATE MATERIALIZED VIEW IF NOT EXISTS calls_agg_fold_mv TO calls_agg AS
SELECT
    arrayJoin([0, 1]) AS kind,
    provider,
    call_id,
    now() AS at,
    maxState(direction) AS direction,
    minIfState(started_at, started_at > toDateTime(0)) AS started_at,
    minIfState(answered_at, answered_at > toDateTime(0)) AS answered_at,
    maxState(ended_at) AS ended_at,
    maxState(arrival_ended_at) AS arrival_ended_at,
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

DROP TABLE IF EXISTS calls_agg_mv;

-- The plain view is dropped and created again: for that moment, queries
-- of it fail (and are retried); no insert is affected.
DROP TABLE IF EXISTS calls;

-- The folded call, as 0002 made it, with the end rule above.
CREATE VIEW IF NOT EXISTS calls AS
SELECT
    provider,
    call_id,
    f_direction AS direction,
    f_started AS started_at,
    f_answered AS answered_at,
    f_ended AS ended_at,
    f_client AS client_phone,
    f_line AS line_phone,
    f_source AS line_source,
    f_manager AS manager,
    if(f_answered > toDateTime(0), 'answered', toString(f_status)) AS status,
    toUInt32(multiIf(
        f_answered = toDateTime(0) AND f_status != 'answered', 0,
        f_reported > 0, f_reported,
        f_answered > toDateTime(0) AND f_ended > f_answered, toUInt32(f_ended) - toUInt32(f_answered),
        0)) AS talk_seconds,
    f_recording_url AS recording_url,
    f_recording_ref AS recording_ref
FROM
(
    SELECT
        provider,
        call_id,
        max(direction) AS f_direction,
        minIf(started_at, started_at > toDateTime(0)) AS f_started,
        minIf(answered_at, answered_at > toDateTime(0)) AS f_answered,
        max(ended_at) AS f_clock_ended,
        max(arrival_ended_at) AS f_arrival_ended,
        if(f_clock_ended > toDateTime(0), f_clock_ended, f_arrival_ended) AS f_ended,
        max(client_phone) AS f_client,
        max(line_phone) AS f_line,
        max(line_source) AS f_source,
        argMaxIf(manager, (manager_rank, manager), manager != '') AS f_manager,
        max(status) AS f_status,
        max(talk_seconds) AS f_reported,
        max(recording_url) AS f_recording_url,
        max(recording_ref) AS f_recording_ref
    FROM call_events
    GROUP BY provider, call_id
);
