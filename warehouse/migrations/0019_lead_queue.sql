-- The call queue as the daemon publishes it for the dashboards
-- (scoring.Scorer.Publish, every metrics.refresh_interval): up to 1,000
-- open leads, hottest first, under the threshold too, scored with
-- callpulse.yml's scoring settings. Grafana cannot score a million
-- touches in SQL in time (12 s at a million on 2 cores), nor read the
-- daemon's configuration; the daemon scores them from its book of the
-- touches in a fraction of a second.
--
-- Each publication writes rank 0 (its marker, with the threshold, so that
-- an empty queue is published too) and ranks 1..n (its leads); published
-- is the wall-clock time it was written in Unix nanoseconds, published_at
-- the time the queue is as of (the same, to the second, in the daemon). The
-- newest publication is the rows with the largest published; older rows
-- of the same rank are replaced as ClickHouse merges, so the table keeps
-- about one row per rank.
CREATE TABLE IF NOT EXISTS lead_queue (
    published     UInt64,
    published_at  DateTime,
    rank          UInt32,
    phone         String,
    lead_id       String,
    name          String,
    grade         String,
    source        String,
    manager       String,
    score         Int64,
    last_touch_at DateTime,
    above         UInt8,
    threshold     Float64
) ENGINE = ReplacingMergeTree(published)
ORDER BY rank;
