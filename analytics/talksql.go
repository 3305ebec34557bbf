package analytics

// SQL of talk time. Every form computes the same definition (see
// TalkTime): answered calls by the day of their start in the configured
// zone, extension, and the client's category at the call's start.
//
// A category history is read per (phone, valid_from) as the row with the
// newest recorded_at, then the larger category: the row client_categories
// keeps when it merges duplicates, so results do not depend on whether a
// merge has happened yet. Rows graded 'unknown' and the empty phone carry
// no category.
//
// Parameters are bound by name on the client (@name); ClickHouse 18.16
// allows one JOIN per SELECT, hence the nesting.

import "fmt"

// talkTimeRawSQL is the straightforward query: it folds every event
// through the calls view, then joins the calls of the period with their
// phones' whole history. It is the reference the pre-aggregated path is
// tested against and the baseline `make bench` measures; TalkTimeRaw runs
// it. %s is an optional manager filter.
const talkTimeRawSQL = `
SELECT day, manager, category, toUInt64(sum(talk)) AS seconds, toUInt64(count()) AS calls
FROM
(
    SELECT
        toDate(any(started_at), @tz) AS day,
        any(manager) AS manager,
        any(talk_seconds) AS talk,
        multiIf(
            countIf(h_phone != '' AND h_valid_from <= started_at) > 0,
                argMaxIf(h_category, h_valid_from, h_phone != '' AND h_valid_from <= started_at),
            countIf(h_phone != '') > 0,
                argMinIf(h_category, h_valid_from, h_phone != ''),
            'unknown') AS category
    FROM
    (
        SELECT provider, call_id, manager, talk_seconds, started_at, client_phone
        FROM calls
        WHERE status = 'answered' AND started_at >= @start AND started_at < @end %s
    )
    ALL LEFT JOIN
    (
        SELECT phone AS client_phone, phone AS h_phone, cat AS h_category, valid_from AS h_valid_from
        FROM
        (
            SELECT phone, valid_from, argMax(toString(category), (recorded_at, category)) AS cat
            FROM client_categories
            WHERE category != 'unknown'
            GROUP BY phone, valid_from
        )
    ) USING client_phone
    GROUP BY provider, call_id
)
GROUP BY day, manager, category
ORDER BY day, manager, category`

// foldedCallsSQL folds calls_agg as the calls view folds call_events, one
// row per call, into the columns talk time and the call facts need; %s is
// a further condition (on `at`: the cutoff of a snapshot) or empty. The
// end is the latest on the PBX's clock if the call has one, else the
// latest taken from arrival (call.Fold, migration 0010), here and in
// changedCallsSQL.
const foldedCallsSQL = `
        SELECT
            provider, call_id,
            maxMerge(direction) AS f_direction,
            minIfMerge(started_at) AS f_started,
            minIfMerge(answered_at) AS f_answered,
            maxMerge(ended_at) AS f_clock_ended,
            maxMerge(arrival_ended_at) AS f_arrival_ended,
            if(f_clock_ended > toDateTime(0), f_clock_ended, f_arrival_ended) AS f_ended,
            maxMerge(status) AS f_status,
            maxMerge(talk_seconds) AS f_reported,
            tupleElement(maxIfMerge(manager), 2) AS f_manager,
            maxMerge(client_phone) AS f_phone,
            maxMerge(line_source) AS f_source
        FROM calls_agg
        WHERE kind = 0 %s
        GROUP BY provider, call_id`

// foldedTalkSecondsSQL is a folded call's talk seconds by the calls view's
// talk_seconds rule, over foldedCallsSQL's columns.
const foldedTalkSecondsSQL = `multiIf(
                f_answered = toDateTime(0) AND f_status != 'answered', 0,
                f_reported > 0, f_reported,
                f_answered > toDateTime(0) AND f_ended > f_answered, toUInt32(f_ended) - toUInt32(f_answered),
                0)`

// historySQL is each phone's grade history as two arrays sorted by
// valid_from; %s is a condition on `at` or empty.
const historySQL = `
        SELECT phone AS f_phone, arrayMap(x -> x.1, h) AS h_from, arrayMap(x -> x.2, h) AS h_cat
        FROM
        (
            SELECT phone, arraySort(groupArray((valid_from, cat))) AS h
            FROM
            (
                SELECT phone, valid_from, argMax(toString(category), (recorded_at, category)) AS cat
                FROM category_log
                WHERE phone != '' AND category != 'unknown' %s
                GROUP BY phone, valid_from
            )
            GROUP BY phone
        )`

// talkCallsSQL is one row per call talk time counts — answered, with a
// start — with its start, quarter-hour bucket, manager, category at call
// time and talk seconds (the calls view's talk_seconds rule), from the
// whole of calls_agg. The first %s is the fold's condition on `at`, the second a
// condition on the folded call (e.g. its start in a period), the third the
// history's condition on `at`. The category is the one of the latest
// history row at or before the start, or, before the first row, of the
// first; unknown without history.
const talkCallsSQL = `
    SELECT
        f_started AS started,
        toDateTime(intDiv(toUInt32(f_started), 900) * 900) AS bucket,
        f_manager AS manager,
        if(empty(h_from), 'unknown', h_cat[greatest(arrayCount(f -> f <= f_started, h_from), 1)]) AS category,
        seconds
    FROM
    (
        SELECT
            f_phone, f_manager, f_started,
            toInt64(` + foldedTalkSecondsSQL + `) AS seconds
        FROM (` + foldedCallsSQL + `)
        WHERE f_started > toDateTime(0) AND (f_answered > toDateTime(0) OR f_status = 'answered') %s
    )
    ANY LEFT JOIN (` + historySQL + `) USING f_phone`

// talkTimeFullSQL is talk time of a period straight from calls_agg, for
// when no rollup snapshot exists yet (and for time zones whose days do not
// start on a quarter hour). %s is an optional manager filter.
const talkTimeFullSQL = `
SELECT toDate(started, @tz) AS day, manager, category, toUInt64(sum(seconds)) AS seconds, toUInt64(count()) AS calls
FROM (` + talkCallsSQL + `)
WHERE 1 %s
GROUP BY day, manager, category
ORDER BY day, manager, category`

// rootCompactSQL writes the snapshot of the chain @chain of epoch @epoch
// as the rows of refresh @id opening epoch @id: its quarter hours summed,
// and days of the refresher's zone (%s, grainsSQL) derived from them.
const rootCompactSQL = `
INSERT INTO talk_rollup (epoch, refresh, zone, bucket, manager, category, status, seconds, calls)
SELECT @id, @id, g.1 AS z, g.2 AS b, manager, category, status, sum(s) AS ss, sum(c) AS cc
FROM
(
    SELECT bucket, manager, category, status, sum(seconds) AS s, sum(calls) AS c
    FROM talk_rollup
    WHERE epoch = @epoch AND refresh IN @chain AND zone = ''
    GROUP BY bucket, manager, category, status
    HAVING s != 0 OR c != 0
)
ARRAY JOIN %s AS g
GROUP BY z, b, manager, category, status
HAVING ss != 0 OR cc != 0`

// grainsSQL are the rows a quarter hour `bucket` contributes to: itself
// (zone ”), and its date in @zone as a DateTime at 00:00 UTC.
const (
	grainsSQL           = "[('', bucket), (@zone, toDateTime(toUInt32(toDate(bucket, @zone)) * 86400))]"
	quarterHoursOnlySQL = "[('', bucket)]"
)

// rollupQuarterHoursSQL sums the quarter hours of the snapshot of chain
// @chain by calendar day in @tz; rollupDaysSQL reads the days the
// refreshers kept for @tz. Both read the answered calls: talk time. %s is
// an optional manager filter.
const (
	rollupQuarterHoursSQL = `
SELECT toDate(bucket, @tz) AS day, manager, toString(category) AS cat, sum(seconds) AS s, sum(calls) AS c
FROM talk_rollup
WHERE epoch = @epoch AND refresh IN @chain AND zone = '' AND status = 'answered'
    AND bucket >= @start AND bucket < @end %s
GROUP BY day, manager, cat`
	rollupDaysSQL = `
SELECT toDate(bucket, 'UTC') AS day, manager, toString(category) AS cat, sum(seconds) AS s, sum(calls) AS c
FROM talk_rollup
WHERE epoch = @epoch AND refresh IN @chain AND zone = @tz AND status = 'answered'
    AND bucket >= @first AND bucket <= @last %s
GROUP BY day, manager, cat`
)

// rollupStatusSQL counts the calls of the snapshot of chain @chain
// started in [@start, @end) by status, from its quarter hours.
const rollupStatusSQL = `
SELECT toString(status) AS st, sum(calls) AS c
FROM talk_rollup
WHERE epoch = @epoch AND refresh IN @chain AND zone = '' AND bucket >= @start AND bucket < @end
GROUP BY st`

// touchedSQL is the calls with events that arrived between @from and @to
// (%s: "AND at < @to", or empty for "now"): those whose fold may differ
// between snapshots as of the two.
const touchedSQL = `
            SELECT provider, call_id FROM calls_agg
            WHERE kind = 1 AND if(kind = 1, at, toDateTime(0)) >= @from AND at >= @from %[1]s`

// changedCallsSQL folds each touched call twice, from its events that
// arrived before @from and from all of them (before @to if %[1]s says so),
// keeping what the analytics need, the rank-and-manager maximum included
// so that the two folds come from one read. arrived is the phones of the
// events that arrived in between: per insert block (one `at`), the
// largest, which is the only one of the block that can be the call's
// phone at any cutoff. Days are in @tz. %[2]s and %[3]s are the columns
// only talk time needs (talkFoldSQL), or constants in their place
// (phoneFoldSQL): reading fewer aggregate states makes the fold cheaper.
const changedCallsSQL = `
SELECT
    provider, call_id,
    minIf(st, st > toDateTime(0) AND early) AS o_started,
    minIf(an, an > toDateTime(0) AND early) AS o_answered,
    if(maxIf(en, early) > toDateTime(0), maxIf(en, early), maxIf(aen, early)) AS o_ended,
    toUInt8(maxIf(stt, early)) AS o_status,
    maxIf(ph, early) AS o_phone,
    maxIf(src, early) AS o_source,
    toUInt8(maxIf(dir, early)) AS o_direction,
    minIf(st, st > toDateTime(0)) AS n_started,
    minIf(an, an > toDateTime(0)) AS n_answered,
    if(max(en) > toDateTime(0), max(en), max(aen)) AS n_ended,
    toUInt8(max(stt)) AS n_status,
    max(ph) AS n_phone,
    max(src) AS n_source,
    toUInt8(max(dir)) AS n_direction,
    groupUniqArrayIf(ph, NOT early AND ph != '') AS arrived,
    %[2]s
FROM
(
    SELECT
        provider, call_id, at < @from AS early,
        maxMerge(direction) AS dir,
        minIfMerge(started_at) AS st,
        minIfMerge(answered_at) AS an,
        maxMerge(ended_at) AS en,
        maxMerge(arrival_ended_at) AS aen,
        maxMerge(status) AS stt,
        maxMerge(client_phone) AS ph,
        maxMerge(line_source) AS src
        %[3]s
    FROM calls_agg
    WHERE kind = 0 AND (provider, call_id) IN (` + touchedSQL + `) %[1]s
    GROUP BY provider, call_id, at
)
GROUP BY provider, call_id`

// The talk-time columns of changedCallsSQL, as the outer and the inner
// columns, and constants in their place for the phone facts.
const (
	talkFoldOuterSQL = `
    maxIf(rep, early) AS o_reported,
    tupleElement(maxIf(mg, early), 2) AS o_manager,
    toDate(toDateTime(intDiv(toUInt32(o_started), 900) * 900), @tz) AS o_day,
    max(rep) AS n_reported,
    tupleElement(max(mg), 2) AS n_manager,
    toDate(toDateTime(intDiv(toUInt32(n_started), 900) * 900), @tz) AS n_day`
	talkFoldInnerSQL = `,
        maxMerge(talk_seconds) AS rep,
        maxIfMerge(manager) AS mg`
	phoneFoldOuterSQL = `
    toUInt32(0) AS o_reported, '' AS o_manager, toDate(0) AS o_day,
    toUInt32(0) AS n_reported, '' AS n_manager, toDate(0) AS n_day`
)

// regradedSQL is the phones that got grade history between @from and @to
// (%s as in touchedSQL): the category at call time of their calls may
// differ between snapshots as of the two.
const regradedSQL = `
SELECT DISTINCT phone FROM category_log
WHERE at >= @from AND phone != '' AND category != 'unknown' %s`

// historyOfSQL is the raw grade history of the phones in the set %s.
const historyOfSQL = `
SELECT phone, valid_from, toString(category), recorded_at, at
FROM category_log
WHERE phone IN %s AND phone != '' AND category != 'unknown'`

// phoneHistorySQL is historyOfSQL of the phones in phonesTable.
var phoneHistorySQL = fmt.Sprintf(historyOfSQL, phonesTable)

// regradedHistorySQL is historyOfSQL of regradedSQL's phones (%s: its
// condition).
func regradedHistorySQL(cond string) string {
	return fmt.Sprintf(historyOfSQL, "("+fmt.Sprintf(regradedSQL, cond)+")")
}
