-- Open missed calls from the phone rollup (analytics/missed.go): the rollup
-- keeps each phone's latest answered call (its time: start, else answer,
-- else end) and the time and manager of its latest answered call with a
-- manager (of two in the same second, the larger manager). A missed call
-- is open exactly when its phone's latest answered call is not after it,
-- so the open missed calls of a period are read without the answered
-- calls, and an ownerless client's owner is that latest manager.
--
-- Rows written before this migration lack them: this callpulse writes
-- facts layout 6 (analytics.factsLayout), reads older generations as no
-- facts and rebuilds at its first refresh.
--
-- rollup_head is re-created once more, for the last time: it used to name
-- the layout it reads, so every layout change (0015-0017) made it again.
-- It now reads the newest layout any refresher has written, which is the
-- daemons' own once the first upgraded one has refreshed (until then the
-- dashboards keep showing the snapshots of the layout before, whose
-- columns are all they read).
ALTER TABLE phone_rollup
    ADD COLUMN last_answered_at DateTime DEFAULT toDateTime(0);

ALTER TABLE phone_rollup
    ADD COLUMN last_managed_at DateTime DEFAULT toDateTime(0);

ALTER TABLE phone_rollup
    ADD COLUMN last_manager String DEFAULT '';

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
    FROM talk_refreshes ANY INNER JOIN
        (SELECT id, generation FROM fact_refreshes WHERE layout = (SELECT max(layout) FROM fact_refreshes)) USING id
    WHERE notEmpty(chain)
);
