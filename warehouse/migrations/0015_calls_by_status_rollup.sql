-- Calls by status from the rollup (analytics/talksql.go): the talk-time
-- rollup counts every call with a start, by its status in the calls view
-- (`answered` when it has an answer time, else the largest status of its
-- events), instead of the answered calls alone, so that "calls by status"
-- over any period reads a few thousand rollup rows rather than folding
-- every stored call. Talk time reads the rows of status 'answered' (the
-- other statuses have no talk seconds). The rows written before this
-- migration are all of answered calls, hence the default; the call facts
-- keep each call's status for the rollup's rebuild and re-grades.
--
-- Facts and rollups of the refreshes before this migration lack the other
-- statuses: this callpulse writes facts layout 3 (analytics.factsLayout),
-- reads older generations as no facts, and rebuilds at its first refresh;
-- rollup_head (0014) is re-created to read layout 3.
ALTER TABLE call_facts
    ADD COLUMN status Enum8('none' = 0, 'missed' = 1, 'cancelled' = 2, 'failed' = 3, 'busy' = 4, 'answered' = 5) DEFAULT 'none';

ALTER TABLE talk_rollup
    ADD COLUMN status Enum8('none' = 0, 'missed' = 1, 'cancelled' = 2, 'failed' = 3, 'busy' = 4, 'answered' = 5) DEFAULT 'answered';

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
    FROM talk_refreshes ANY INNER JOIN (SELECT id, generation FROM fact_refreshes WHERE layout = 3) USING id
    WHERE notEmpty(chain)
);
