-- Pre-aggregation for the funnel, the call queue and re-grades
-- (docs/architecture.md, "Analytics"; the refresher and the queries are in
-- analytics/facts*.go). The rollup refresher of 0008 keeps these tables
-- together with talk_rollup; nothing else writes them, and no backfill is
-- needed: a refresher that finds no snapshot with them builds one.
--
-- Each build from calls_agg (a rebuild, daily) opens a generation, named
-- by its refresh id; every row belongs to one, and readers use only the
-- generation of the snapshot they read. Superseded generations are
-- dropped whole.

-- call_facts: what the analytics need of one call, folded from the events
-- that reached ClickHouse before `version` (calls_agg rows with at <
-- version), listed under a phone. owner is the call's phone in that fold
-- (the calls view's client_phone). A rebuild lists every call under its
-- owner; a later refresh lists each call with events that arrived since
-- the previous one under its owner before and after them and under the
-- phones of the events that arrived, so the newest row of a (phone, call)
-- pair at or before a time tells whether the call belonged to that phone
-- then, and with what. Plain MergeTree: no version is ever merged away, so
-- "newest at or before" stays answerable.
--
-- contact_at is the call's time for the funnel (start, else answer, else
-- end; 0 if none), answered whether the calls view says 'answered',
-- started_at, manager and seconds what talk time counts.
CREATE TABLE IF NOT EXISTS call_facts (
    generation  UInt64,
    phone       String,
    provider    String,
    call_id     String,
    version     DateTime,
    owner       String,
    contact_at  DateTime,
    line_source String,
    answered    UInt8,
    started_at  DateTime,
    manager     String,
    seconds     UInt32
) ENGINE = MergeTree
PARTITION BY generation
ORDER BY (phone, provider, call_id, version);

-- phone_rollup: per client phone, its calls as of `version` (folded from
-- call_facts): how many, the earliest contact_at, the earliest
-- (contact_at, line_source) of a call on a line with a source, and how
-- many were answered. A refresh writes a row for every phone whose calls
-- it may have changed (calls = 0 when none are left); the newest row of a
-- phone wins, on merge and with FINAL.
CREATE TABLE IF NOT EXISTS phone_rollup (
    generation UInt64,
    phone      String,
    version    DateTime,
    calls      UInt32,
    first_at   DateTime,
    source_at  DateTime,
    source     String,
    answered   UInt32
) ENGINE = ReplacingMergeTree(version)
PARTITION BY generation
ORDER BY phone;

-- The refreshes (talk_refreshes ids) that also kept call_facts and
-- phone_rollup, and their generation, written before their done marker.
-- A snapshot whose chain has a refresh missing here (one made before this
-- migration, or by an older callpulse) has no facts: readers fall back to
-- the straightforward queries and the next refresh rebuilds.
CREATE TABLE IF NOT EXISTS fact_refreshes (
    generation UInt64,
    id         UInt64
) ENGINE = MergeTree
PARTITION BY generation
ORDER BY id;
