package scoring

import "fmt"

// The call queue and the threshold read a million touches at scale; these
// are the forms of touchesSQL, scoresSQL and thresholdRawSQL that do it in
// one pass (Queue and Threshold; QueueRaw and ThresholdRaw keep the
// straightforward forms as the reference):
//
//   - touches is a ReplacingMergeTree by version over touch_key, so FINAL
//     keeps exactly the newest version of each key — what ORDER BY version
//     DESC LIMIT 1 BY touch_key does, without sorting every touch;
//   - only touches without a phone look their lead_id up in the deals;
//   - a lead's score is one aggregate over its touches rather than a sum
//     over per-action groups: the sum of the points of its touches in the
//     window, or, with OncePerAction, of the distinct actions among them.

// touchesFastSQL is touchesSQL: every stored touch once, with its lead.
// The first %s is a further condition on the touches with a phone, the
// second one on the lead_phone of those without (after the lookup).
const touchesFastSQL = `
        SELECT phone AS lead_phone, '' AS lead_ref, lead_id, action, at, utm_source
        FROM touches FINAL
        WHERE phone != '' %s
        UNION ALL
        SELECT d_phone AS lead_phone, if(d_phone = '', lead_id, '') AS lead_ref, lead_id, action, at, utm_source
        FROM
        (
            SELECT lead_id, action, at, utm_source
            FROM touches FINAL
            WHERE phone = ''
        )
        ANY LEFT JOIN (` + dealPhonesSQL + `) USING lead_id
        WHERE 1 %s`

// scoreExpr is the aggregate of a lead's score as of the DateTime
// expression asOf over rows with the touch's action, at and points (pts).
func scoreExpr(once bool, asOf string) string {
	window := fmt.Sprintf("toInt64(%s) - toInt64(at) < @decay", asOf)
	if once {
		return fmt.Sprintf("toInt64(arraySum(arrayMap(a -> %s, groupUniqArrayIf(action, %s))))",
			pointsOf("a"), window)
	}
	return fmt.Sprintf("toInt64(sumIf(pts, %s))", window)
}

// pointsOf is the points of the action in expression a.
func pointsOf(a string) string {
	return fmt.Sprintf("transform(%s, @actions, @points, toInt64(0))", a)
}

// topLeadsSQL is the @limit hottest open leads with a touch at or before
// @now, scored as of @now, in the queue's order, with their last touch,
// the lead_id of the latest touch naming one and the utm_source of the
// earliest having one (ties as in scoresSQL): %[1]s is the score
// (scoreExpr), %[2]s the points of a touch, %[3]s the touches. One pass
// over the touches: the two extra aggregates cost less than reading the
// touches again for the chosen leads.
const topLeadsSQL = `
SELECT lead_phone, lead_ref, score, last_touch_at, lead_id, utm_source
FROM
(
    SELECT lead_phone, lead_ref, %[1]s AS score, max(at) AS last_touch_at,
        argMaxIf(lead_id, (at, lead_id), lead_id != '') AS lead_id,
        argMinIf(utm_source, (at, utm_source), utm_source != '') AS utm_source
    FROM
    (
        SELECT lead_phone, lead_ref, lead_id, action, at, utm_source, %[2]s AS pts
        FROM (%[3]s)
        WHERE at <= @now
    )
    GROUP BY lead_phone, lead_ref
)
WHERE lead_phone NOT IN (SELECT phone FROM (` + latestDealsSQL + `) WHERE stage IN ('won', 'lost'))
ORDER BY score DESC, last_touch_at DESC, lead_phone, lead_ref
LIMIT @limit`

// convertedSQL is the leads that converted in (@from, @now] and when: the
// earliest close of their won deals in the window.
const convertedSQL = `
            SELECT phone AS lead_phone, min(closed_at) AS converted_at
            FROM (` + latestDealsSQL + `)
            WHERE stage = 'won' AND closed_at > @from AND closed_at <= @now
            GROUP BY phone`

// thresholdFastSQL is thresholdRawSQL reading only the touches of the
// leads that converted: %[1]s is the score as of converted_at, %[2]s the
// points of a touch, %[3]s the touches.
const thresholdFastSQL = `
SELECT toUInt64(count()) AS leads, toInt64(sum(score)) AS total
FROM
(
    SELECT lead_phone, %[1]s AS score
    FROM
    (
        SELECT lead_phone, action, at, converted_at, %[2]s AS pts
        FROM (%[3]s)
        ANY INNER JOIN (` + convertedSQL + `) USING lead_phone
        WHERE at <= converted_at
    )
    GROUP BY lead_phone
)`

// fastQueries are the one-pass queries of a scoring mode.
type fastQueries struct {
	topLeads, threshold string
}

// newFastQueries returns the one-pass queries for OncePerAction once.
func newFastQueries(once bool) fastQueries {
	pts := pointsOf("action")
	var q fastQueries
	q.topLeads = fmt.Sprintf(topLeadsSQL, scoreExpr(once, "@now"), pts, fmt.Sprintf(touchesFastSQL, "", ""))
	converted := func(col string) string {
		return fmt.Sprintf("AND %s IN (SELECT lead_phone FROM (%s))", col, convertedSQL)
	}
	q.threshold = fmt.Sprintf(thresholdFastSQL, scoreExpr(once, "converted_at"), pts,
		fmt.Sprintf(touchesFastSQL, converted("phone"), converted("lead_phone")))
	return q
}
