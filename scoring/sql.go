package scoring

// The queries follow the definitions in the package comment. They run on
// ClickHouse 18.16 as well as current releases: one JOIN per SELECT (hence
// the nesting), no CTEs, no window functions. Parameters are bound by name
// on the client (@name); the points table goes over as two arrays, so the
// SQL text never depends on the configuration.

// touchesSQL is every stored touch once (the newest version of each key)
// with its lead: lead_phone is the touch's phone, else the phone of the
// deal its lead_id names (the most recently updated deal with that id, of
// any origin); lead_ref is the lead_id when neither gives a phone, else empty.
const touchesSQL = `
        SELECT
            if(phone != '', phone, d_phone) AS lead_phone,
            if(phone = '' AND d_phone = '', lead_id, '') AS lead_ref,
            lead_id, action, at, utm_source
        FROM
        (
            SELECT touch_key, phone, lead_id, action, at, utm_source
            FROM touches
            ORDER BY touch_key, version DESC
            LIMIT 1 BY touch_key
        )
        ANY LEFT JOIN (` + dealPhonesSQL + `) USING lead_id`

// dealPhonesSQL is the phone of each deal id: that of the most recently
// updated deal with the id, of any origin (of two with the same version,
// the larger phone).
const dealPhonesSQL = `
            SELECT deal_id AS lead_id, argMax(phone, (version, phone)) AS d_phone
            FROM deals
            GROUP BY deal_id`

// pointsExpr is the points of a touch's action; actions missing from the
// table score 0.
const pointsExpr = `transform(action, @actions, @points, toInt64(0))`

// With @once = 1 an action counts at most once per lead: the number n of a
// lead's touches of one action becomes least(n, 1).

// scoresSQL scores every lead with a touch at or before @now, as of @now
// (score) and as of @before (score_before). A score as of T counts the
// touches at or before T and less than @decay seconds older than T. It also
// gives the lead's latest touch, the lead_id its latest touch naming one
// named, and the utm_source of its earliest touch having one (of touches
// at the same second, the larger lead_id and the smaller utm_source).
const scoresSQL = `
    SELECT
        lead_phone,
        lead_ref,
        sum(pts * if(@once = 1, least(n_now, 1), n_now)) AS score,
        sum(pts * if(@once = 1, least(n_before, 1), n_before)) AS score_before,
        max(last_at) AS last_touch_at,
        argMaxIf(last_lead_id, (last_lead_id_at, last_lead_id), last_lead_id != '') AS lead_id,
        argMinIf(first_utm, (first_utm_at, first_utm), first_utm != '') AS utm_source
    FROM
    (
        SELECT
            lead_phone,
            lead_ref,
            action,
            ` + pointsExpr + ` AS pts,
            toInt64(countIf(toInt64(@now) - toInt64(at) < @decay)) AS n_now,
            toInt64(countIf(at <= @before AND toInt64(@before) - toInt64(at) < @decay)) AS n_before,
            max(at) AS last_at,
            argMaxIf(lead_id, (at, lead_id), lead_id != '') AS last_lead_id,
            maxIf(at, lead_id != '') AS last_lead_id_at,
            argMinIf(utm_source, (at, utm_source), utm_source != '') AS first_utm,
            minIf(at, utm_source != '') AS first_utm_at
        FROM (` + touchesSQL + `)
        WHERE at <= @now
        GROUP BY lead_phone, lead_ref, action
    )
    GROUP BY lead_phone, lead_ref`

// latestDealsSQL is the newest version of every deal (FINAL: deals is a
// ReplacingMergeTree by version over (origin, deal_id)).
const latestDealsSQL = `
            SELECT phone, stage, source, manager, created_at, closed_at
            FROM deals FINAL`

// openScoresSQL is scoresSQL restricted to open leads: those whose phone
// has no won or lost deal (leads without a phone have no deal at all).
const openScoresSQL = `
SELECT lead_phone, lead_ref, score, score_before, last_touch_at, lead_id, utm_source
FROM (` + scoresSQL + `)
WHERE lead_phone NOT IN (SELECT phone FROM (` + latestDealsSQL + `) WHERE stage IN ('won', 'lost'))`

// queueRawSQL is the call queue: open leads at or above @threshold (all
// of them when @all = 1), hottest first.
const queueRawSQL = `
SELECT lead_phone, lead_ref, lead_id, score, last_touch_at, utm_source
FROM (` + openScoresSQL + `)
WHERE @all = 1 OR score >= @threshold
ORDER BY score DESC, last_touch_at DESC, lead_phone, lead_ref
LIMIT @limit`

// aboveSQL counts the open leads at or above @threshold.
const aboveSQL = `
SELECT toUInt64(count())
FROM (` + openScoresSQL + `)
WHERE score >= @threshold`

// hotSQL is the open leads at or above @threshold as of @now, with their
// scores as of @before.
const hotSQL = `
SELECT lead_phone, lead_ref, lead_id, score, score_before, last_touch_at
FROM (` + openScoresSQL + `)
WHERE score >= @threshold
ORDER BY score DESC, last_touch_at DESC, lead_phone, lead_ref`

// thresholdRawSQL scores the leads that converted in (@from, @now] as of
// their conversion (the earliest close of their won deals in the window),
// and gives how many have a touch at or before it and the sum of their
// scores.
const thresholdRawSQL = `
SELECT toUInt64(count()) AS leads, toInt64(sum(score)) AS total
FROM
(
    SELECT lead_phone, sum(pts * if(@once = 1, least(n, 1), n)) AS score
    FROM
    (
        SELECT
            lead_phone,
            action,
            ` + pointsExpr + ` AS pts,
            toInt64(countIf(toInt64(converted_at) - toInt64(at) < @decay)) AS n
        FROM
        (
            SELECT lead_phone, action, at
            FROM (` + touchesSQL + `)
            WHERE lead_phone != ''
        )
        ANY INNER JOIN
        (
            SELECT phone AS lead_phone, min(closed_at) AS converted_at
            FROM (` + latestDealsSQL + `)
            WHERE stage = 'won' AND closed_at > @from AND closed_at <= @now
            GROUP BY phone
        ) USING lead_phone
        WHERE at <= converted_at
        GROUP BY lead_phone, action
    )
    GROUP BY lead_phone
)`

// detailsSQL describes the leads with the phones in queuePhonesTable: the
// name and grade of the client, its responsible manager and the sources
// the ad source is chosen from (client, earliest deal with a source), and
// the manager of its newest deal with one (of two at the same time, the
// smaller source and the larger manager).
const detailsSQL = `
SELECT phone, name, grade, c_source, c_manager, d_source, d_manager
FROM
(
    SELECT phone, name, grade, c_source, c_manager
    FROM
    (
        SELECT phone, name, c_source, c_manager
        FROM (SELECT value AS phone FROM ` + queuePhonesTable + `)
        ANY LEFT JOIN
        (
            SELECT phone, name, source AS c_source, manager AS c_manager
            FROM clients
            WHERE phone IN ` + queuePhonesTable + `
            ORDER BY phone, version DESC
            LIMIT 1 BY phone
        ) USING phone
    )
    ANY LEFT JOIN
    (
        SELECT phone, toString(argMax(category, (valid_from, recorded_at, category))) AS grade
        FROM client_categories
        WHERE phone IN ` + queuePhonesTable + ` AND category != 'unknown'
        GROUP BY phone
    ) USING phone
)
ANY LEFT JOIN
(
    SELECT
        phone,
        argMinIf(source, (created_at, source), source != '') AS d_source,
        argMaxIf(manager, (created_at, manager), manager != '') AS d_manager
    FROM (` + latestDealsSQL + `)
    WHERE phone IN ` + queuePhonesTable + `
    GROUP BY phone
) USING phone`
