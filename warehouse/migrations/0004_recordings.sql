-- Recordings fetched by the recording fetcher: which audio file (by SHA-256
-- of its content, stored in the fetcher's directory) belongs to which call.
-- One recording per call; a re-fetch replaces the row (newest fetched_at
-- wins on merge, and lookups take the newest row without waiting for one).
CREATE TABLE IF NOT EXISTS recordings (
    provider     String,
    call_id      String,
    sha256       String,
    bytes        UInt64,
    content_type String,
    fetched_at   DateTime
) ENGINE = ReplacingMergeTree(fetched_at)
ORDER BY (provider, call_id);
