-- What missed calls, callbacks, speed to lead and repeat callers need of a
-- call, in the call facts of 0009, so that they read the calls of a
-- period (or of a few phones) from the facts instead of folding every
-- stored call through the calls view (docs/architecture.md, "Analytics";
-- the queries are in analytics/callsnow.go).
--
-- direction:   the calls view's direction.
-- answered_at: the calls view's answered_at (the epoch if never answered).
-- finished:    1 when the call is over: it has a final status (missed,
--              busy, failed, cancelled, answered) or an end time. A call
--              still ringing is not missed yet.
--
-- Rows written before this migration have the defaults, which would be
-- wrong: the refresher records the layout of the facts it writes in
-- fact_refreshes, and a generation of an older layout counts as no facts
-- at all (readers fall back to the straightforward queries, and the next
-- refresh rebuilds).
ALTER TABLE call_facts
    ADD COLUMN direction Enum8('unknown' = 0, 'inbound' = 1, 'outbound' = 2) DEFAULT 'unknown',
    ADD COLUMN answered_at DateTime DEFAULT toDateTime(0),
    ADD COLUMN finished UInt8 DEFAULT 0;

ALTER TABLE fact_refreshes ADD COLUMN layout UInt8 DEFAULT 0;
