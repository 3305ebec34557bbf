-- The newest rollup snapshot as SQL alone finds it, for readers without
-- the daemon's bookkeeping (Grafana's ClickHouse panels; dashboards/
-- README.md): of the refreshes that kept call facts of the layout this
-- callpulse writes (fact_refreshes.layout 2, analytics.factsLayout) and
-- list their chain (0013), the one with the latest cutoff, then the
-- smallest id — the snapshot the daemon reads (analytics.factsHead;
-- TestRollupMatchesRaw checks that they agree at every stage). One row:
-- its id, the generation of its call facts, calls_by_time and phone
-- rollup, the cutoff of that generation's rebuild, its own cutoff, and
-- the refreshes whose talk_rollup rows make it up. Before the first such
-- refresh the row is all zeros and an empty chain, which reads as no
-- data. A callpulse that changes the facts' layout re-creates this view.
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
    FROM talk_refreshes ANY INNER JOIN (SELECT id, generation FROM fact_refreshes WHERE layout = 2) USING id
    WHERE notEmpty(chain)
);
