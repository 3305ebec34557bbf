-- Tracked actions of leads (site visits, pricing page views, form views,
-- applications...), posted to POST /api/v1/touches. Lead scores are
-- computed from these rows at query time (package scoring), so a change of
-- the points table re-scores all history.
--
-- touch_key is the idempotency key: 'id:' + the sender's touch_id, or 'h:'
-- + a hash of (phone, lead_id, action, at) when the sender gave none (see
-- warehouse.Touch.Key). A re-sent touch is a new version of its key; reads
-- take the newest version of each key (ORDER BY version DESC LIMIT 1 BY
-- touch_key), so a duplicate counts once both before and after ClickHouse
-- merges it away. The table is not partitioned: all versions of a key must
-- share a partition to be merged.
--
-- phone is the lead's E.164 number, or '' when the sender gave only
-- lead_id (a CRM or CSV lead/deal id), which is resolved to a phone through
-- the deals table at query time.
CREATE TABLE IF NOT EXISTS touches (
    touch_key   String,
    touch_id    String,
    phone       String,
    lead_id     String,
    action      String,
    at          DateTime,
    utm_source  String,
    received_at DateTime,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY touch_key;
