-- The rebuild's call facts again, sorted by call time, for the queries of a
-- period (missed calls, speed to lead, repeat callers; analytics/callsnow.go).
-- call_facts is sorted by phone, so a period touches every one of its
-- granules; here a period is a range. Written by the rebuild only, from
-- its call_facts rows (one per call with a phone: `at` is contact_at,
-- phone the call's own), in the same generation; calls touched after the
-- rebuild are read from call_facts and calls_agg, as in call_facts. Rows of
-- facts layout 2 and later (fact_refreshes.layout).
CREATE TABLE IF NOT EXISTS calls_by_time (
    generation  UInt64,
    at          DateTime,
    phone       String,
    provider    String,
    call_id     String,
    direction   Enum8('unknown' = 0, 'inbound' = 1, 'outbound' = 2),
    answered    UInt8,
    finished    UInt8,
    answered_at DateTime,
    line_source String,
    manager     String
) ENGINE = MergeTree
PARTITION BY generation
ORDER BY (at, phone);
