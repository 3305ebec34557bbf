-- One row per provider event. Events of one call are folded by the `calls`
-- view with commutative, idempotent aggregates (the same rules as call.Fold),
-- so re-delivered, replayed or out-of-order events never change a call.
-- ReplacingMergeTree only saves space by dropping exact re-deliveries:
-- event_key is call.Event.DedupKey, which differs whenever the content does.
CREATE TABLE IF NOT EXISTS call_events (
    provider      String,
    call_id       String,
    event_key     String,
    received_at   DateTime,
    direction     Enum8('unknown' = 0, 'inbound' = 1, 'outbound' = 2),
    started_at    DateTime,
    answered_at   DateTime,
    ended_at      DateTime,
    client_phone  String,
    line_phone    String,
    line_source   String,
    manager       String,
    manager_rank  UInt8,
    status        Enum8('none' = 0, 'missed' = 1, 'cancelled' = 2, 'failed' = 3, 'busy' = 4, 'answered' = 5),
    talk_seconds  UInt32,
    recording_url String,
    recording_ref String,
    spool_seq     UInt64
) ENGINE = ReplacingMergeTree(spool_seq)
PARTITION BY toYYYYMM(received_at)
ORDER BY (provider, call_id, event_key);
