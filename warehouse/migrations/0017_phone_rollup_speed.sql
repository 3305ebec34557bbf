-- Speed to lead from the phone rollup (analytics/speed.go): besides its
-- first contact, the rollup keeps each phone's first inbound contact (the
-- earliest call not known to be outbound) and its first answered call's
-- reach time (its answer, else its start) and manager (of two reached in
-- the same second, the smaller). A lead's calls all lie at or after its
-- first contact, so these whole-history facts are what speed to lead
-- folds from the calls, and it need not read the calls again.
--
-- Rows written before this migration lack them: this callpulse writes
-- facts layout 5 (analytics.factsLayout), reads older generations as no
-- facts and rebuilds at its first refresh; rollup_head is re-created to
-- read layout 5.
ALTER TABLE phone_rollup
    ADD COLUMN first_inbound_at DateTime DEFAULT toDateTime(0);

ALTER TABLE phone_rollup
    ADD COLUMN reach_at DateTime DEFAULT toDateTime(0);

ALTER TABLE phone_rollup
    ADD COLUMN reach_manager String DEFAULT '';

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
    FROM talk_refreshes ANY INNER JOIN (SELECT id, generation FROM fact_refreshes WHERE layout = 5) USING id
    WHERE notEmpty(chain)
);
