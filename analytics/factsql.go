package analytics

import "fmt"

// SQL of the call facts and the phone rollup (migration 0009; facts.go).
// Parameters are bound by name on the client (@name).

// callFactsRebuildSQL lists every call, folded from the calls_agg rows
// that arrived before @cutoff, under its phone, as of @cutoff, in
// generation @gen. The fold, status and talk seconds follow the calls
// view.
var callFactsRebuildSQL = `
INSERT INTO call_facts (generation, phone, provider, call_id, version, owner, contact_at, line_source, answered,
    started_at, manager, seconds, direction, answered_at, finished, status)
SELECT
    @gen, f_phone, provider, call_id, @cutoff, f_phone,
    multiIf(f_started > toDateTime(0), f_started, f_answered > toDateTime(0), f_answered, f_ended),
    f_source,
    toUInt8(f_answered > toDateTime(0) OR f_status = 'answered'),
    f_started,
    f_manager,
    toUInt32(` + foldedTalkSecondsSQL + `),
    f_direction,
    f_answered,
    toUInt8(f_answered > toDateTime(0) OR f_status != 'none' OR f_ended > toDateTime(0)),
    if(f_answered > toDateTime(0), 'answered', toString(f_status))
FROM (` + fmt.Sprintf(foldedCallsSQL, "AND at < @cutoff") + `)`

// callsByTimeRebuildSQL copies the rebuild's call facts of generation
// @gen (as of @cutoff) of calls with a phone into calls_by_time.
const callsByTimeRebuildSQL = `
INSERT INTO calls_by_time (generation, at, phone, provider, call_id, direction, answered, finished, answered_at,
    line_source, manager)
SELECT generation, contact_at, phone, provider, call_id, direction, answered, finished, answered_at, line_source, manager
FROM call_facts
WHERE generation = @gen AND version = @cutoff AND phone != ''`

// talkRootFromFactsSQL writes the talk-time snapshot of a rebuild from its
// call facts (generation @gen, every row a call under its phone) and the
// grade history that arrived before @cutoff (the first %s: "AND at <
// @cutoff"), as the rows of refresh @id opening epoch @id: quarter hours,
// and, if the second %s (grainsSQL) says so, days of the refresher's zone.
// It counts every call with a start by its status; only answered calls
// have talk seconds. The category rule is talkCallsSQL's.
const talkRootFromFactsSQL = `
INSERT INTO talk_rollup (epoch, refresh, zone, bucket, manager, category, status, seconds, calls)
SELECT @id, @id, g.1 AS z, g.2 AS b, manager, category, status, sum(s), sum(c)
FROM
(
    SELECT bucket, manager, category, status, sum(seconds) AS s, toInt64(count()) AS c
    FROM
    (
        SELECT
            toDateTime(intDiv(toUInt32(f_started), 900) * 900) AS bucket,
            manager,
            if(empty(h_from), 'unknown', h_cat[greatest(arrayCount(f -> f <= f_started, h_from), 1)]) AS category,
            status,
            toInt64(seconds) AS seconds
        FROM
        (
            SELECT owner AS f_phone, started_at AS f_started, manager, status, seconds
            FROM call_facts
            WHERE generation = @gen AND started_at > toDateTime(0)
        )
        ANY LEFT JOIN (` + historySQL + `) USING f_phone
    )
    GROUP BY bucket, manager, category, status
)
ARRAY JOIN %s AS g
GROUP BY z, b, manager, category, status`

// phoneRootSQL writes the phone rollup of a rebuild from its call facts
// (generation @gen), as of @cutoff. A phone's earliest call on a line with
// a source is the least (contact_at, line_source): ties go to the smaller
// source name, as in the funnel's other queries; its first reach is the
// least (reach time, manager) of its answered calls, its latest answered
// call the greatest contact time of one, its last manager the greatest
// (contact time, manager) of those with a manager (phoneFacts.add).
const phoneRootSQL = `
INSERT INTO phone_rollup (generation, phone, version, calls, first_at, source_at, source, answered,
    first_inbound_at, reach_at, reach_manager, last_answered_at, last_managed_at, last_manager)
SELECT
    @gen, owner, @cutoff,
    toUInt32(count()),
    minIf(contact_at, contact_at > toDateTime(0)),
    tupleElement(minIf((contact_at, line_source), line_source != '' AND contact_at > toDateTime(0)) AS first_source, 1),
    tupleElement(first_source, 2),
    toUInt32(sum(answered)),
    minIf(contact_at, contact_at > toDateTime(0) AND direction != 'outbound'),
    tupleElement(minIf((if(answered_at > toDateTime(0), answered_at, contact_at), manager),
        answered = 1 AND contact_at > toDateTime(0)) AS first_reach, 1),
    tupleElement(first_reach, 2),
    maxIf(contact_at, answered = 1 AND contact_at > toDateTime(0)),
    tupleElement(maxIf((contact_at, manager), answered = 1 AND manager != '' AND contact_at > toDateTime(0))
        AS last_managed, 1),
    tupleElement(last_managed, 2)
FROM call_facts
WHERE generation = @gen AND phone != '' AND owner = phone
GROUP BY owner`

// phoneCallsSQL is, for each call listed under a phone of the set %[3]s
// in generation @gen, its newest row at or before @asof, if the call
// belonged to that phone then: the calls of each phone as of @asof. %[1]s
// is the columns of the row (after f.1, the owner) to return, %[2]s the
// same as a list.
const phoneCallsSQL = `
SELECT phone, provider, call_id, %[1]s
FROM
(
    SELECT phone, provider, call_id, argMax((owner, %[2]s), version) AS f
    FROM call_facts
    WHERE generation = @gen AND phone IN %[3]s AND version <= @asof
    GROUP BY phone, provider, call_id
)
WHERE f.1 = phone`

// phoneCallsFunnelSQL is phoneCallsSQL for the phone rollup, of the phones
// in phonesTable.
var phoneCallsFunnelSQL = fmt.Sprintf(phoneCallsSQL,
	"f.2 AS contact_at, f.3 AS line_source, f.4 AS answered, toUInt8(f.5 = 'outbound') AS outbound, f.6 AS answered_at, f.7 AS manager",
	"contact_at, line_source, answered, direction, answered_at, manager", phonesTable)

// regradedCallsSQL is phoneCallsSQL for talk time (with the day of the
// quarter hour of the start in @tz), of the phones re-graded since @from
// (%s: regradedSQL's condition).
func regradedCallsSQL(cond string) string {
	return fmt.Sprintf(phoneCallsSQL,
		"f.2 AS started, f.3 AS manager, f.4 AS seconds, toDate(toDateTime(intDiv(toUInt32(f.2), 900) * 900), @tz) AS day, toUInt8(f.5) AS status",
		"started_at, manager, seconds, status",
		"("+fmt.Sprintf(regradedSQL, cond)+")")
}

// phoneRollupSQL is the newest phone rollup row of each phone in
// phonesTable in generation @gen.
const phoneRollupSQL = `
SELECT phone, calls, first_at, source_at, source, answered
FROM phone_rollup FINAL
WHERE generation = @gen AND phone IN ` + phonesTable
