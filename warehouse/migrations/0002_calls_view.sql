-- The folded call: one row per (provider, call_id). Mirrors call.Fold.
-- A time of 0 (1970-01-01) means "unknown"; talk_seconds follows call.Talk.
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
        max(ended_at) AS f_ended,
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
