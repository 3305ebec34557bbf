-- The call facts are read by phone — the funnel's and the refresher's
-- phones changed since a snapshot, a re-graded client's calls — and a
-- rebuild writes them in a few large parts, whose index finds a phone
-- only to its granule: with the default 8,192 rows, 25 phones read 1.7M
-- rows of a 10M-call store (docs/performance.md, "A realistic lead
-- inflow"). Granules of 1,024 rows, as calls_agg has, read an eighth.
--
-- 18.16 cannot change a table's granularity, and the facts are derived
-- (every generation is rebuilt from calls_agg), so the table is made
-- again, empty: this callpulse writes facts layout 4
-- (analytics.factsLayout), reads older generations as no facts and
-- rebuilds at its first refresh; rollup_head is re-created to read
-- layout 4.
DROP TABLE IF EXISTS call_facts;

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
    seconds     UInt32,
    direction   Enum8('unknown' = 0, 'inbound' = 1, 'outbound' = 2) DEFAULT 'unknown',
    answered_at DateTime DEFAULT toDateTime(0),
    finished    UInt8 DEFAULT 0,
    status      Enum8('none' = 0, 'missed' = 1, 'cancelled' = 2, 'failed' = 3, 'busy' = 4, 'answered' = 5) DEFAULT 'none'
) ENGINE = MergeTree
PARTITION BY generation
ORDER BY (phone, provider, call_id, version)
SETTINGS index_granularity = 1024;

DROP TABLE IF EXISTS rollup_head;

CREATE VIEW IF NOT EXISTS rollup_head AS
SELECT
    tupleElement(h, 1) AS id,
    tupleElement(h, 2) AS generation,
    tupleElement(h, 3) AS rebuilt,
    tupleElement(h, 4) AS cutoff,
    tupleElement(h, 5) AS chain
FROM
(
    SELECT argMax((id, generation, rebuilt, cutoff, chain), (cutoff, -toInt64(id))) AS h
    FROM talk_refreshes ANY INNER JOIN (SELECT id, generation FROM fact_refreshes WHERE layout = 4) USING id
    WHERE notEmpty(chain)
);
