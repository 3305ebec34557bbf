-- The refreshes whose talk_rollup rows make up each snapshot, its own id
-- first (talk_refreshes.chain), so that SQL alone — Grafana's ClickHouse
-- panels — can read the newest snapshot: the marker with the latest
-- cutoff (then the smallest id) among those with a chain, and the
-- talk_rollup rows of the refreshes on it (docs/architecture.md,
-- "Analytics"; dashboards/README.md). Markers written before this
-- migration have none, and the panels read the first snapshot refreshed
-- after it.
ALTER TABLE talk_refreshes ADD COLUMN chain Array(UInt64) DEFAULT CAST([] AS Array(UInt64));
