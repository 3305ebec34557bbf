-- Clients keyed by E.164 phone; the newest version wins (read with FINAL or argMax).
CREATE TABLE IF NOT EXISTS clients (
    phone      String,
    name       String,
    category   Enum8('unknown' = 0, 'A' = 1, 'B' = 2, 'C' = 3),
    need       Enum8('unknown' = 0, 'no' = 1, 'yes' = 2),
    budget     Enum8('unknown' = 0, 'no' = 1, 'yes' = 2),
    urgency    Enum8('unknown' = 0, 'no' = 1, 'yes' = 2),
    source     String,
    manager    String,
    origin     String,
    updated_at DateTime,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY phone;

-- Category history: a row each time a client's category is learned or changes.
-- A call takes the category valid at its start (the latest valid_from at or
-- before started_at; before the first record, the first known category), so a
-- later change never rewrites past talk time.
CREATE TABLE IF NOT EXISTS client_categories (
    phone       String,
    category    Enum8('unknown' = 0, 'A' = 1, 'B' = 2, 'C' = 3),
    valid_from  DateTime,
    origin      String,
    recorded_at DateTime
) ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY (phone, valid_from);
