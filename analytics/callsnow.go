package analytics

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	"github.com/callpulse/callpulse/internal/chset"
)

// Missed calls, repeat callers and refusals (and SpeedToLeadRaw) read calls and
// clients' first contacts through a callSource: straight from the calls
// view and every stored call (rawSource: the reference, and what runs
// before the first snapshot), or from the call facts and the phone rollup
// of the newest snapshot plus what changed since (nowSource). The two give
// the same rows; the second reads one row per call of the period (or of
// the phones asked for) and one per phone, instead of folding every event
// ever stored: at 10M calls, seconds instead of minutes or running out of
// memory (docs/performance.md).
//
// A query is built from both (sourced). Store.reading chooses the form: a
// reading of the newest snapshot carries its parameters @gen, @rebuilt and
// @cutoff, and the external tables of what changed since its cutoff.

// callSource is where a query reads calls and first contacts.
type callSource struct {
	// calls is every call with a client phone, as it is now, for which
	// cond holds, in the columns of callColumns. cond may use those
	// columns.
	calls func(cond string) string
	// period is calls for a cond that bounds `at` to a range (a period):
	// read from the rebuild's rows sorted by time.
	period func(cond string) string
	// contacts is, per client phone with calls or deals: first_contact,
	// first_line_source and first_deal_source, as contactsSQL defines them.
	contacts string
}

// callColumns are the columns of a callSource's calls:
//
//	client_phone, provider, call_id
//	at          the call's time: start, else answer, else end (callTimeExpr)
//	direction   as the calls view has it
//	answered    1 when the calls view says 'answered'
//	finished    1 when the call has a final status or an end (not ringing)
//	answered_at, line_source, manager   as the calls view has them
const callColumns = `client_phone, provider, call_id, at, direction, answered, finished, answered_at, line_source, manager`

var (
	rawSource = callSource{calls: rawCallsSQL, period: rawCallsSQL, contacts: contactsSQL}
	nowSource = callSource{calls: nowCallsSQL(callFactsRowsSQL), period: nowCallsSQL(callsByTimeRowsSQL),
		contacts: contactsNowSQL}
)

// rawCallsSQL is callSource.calls through the calls view.
func rawCallsSQL(cond string) string {
	return `
        SELECT ` + callColumns + `
        FROM
        (
            SELECT client_phone, provider, call_id, ` + callTimeExpr + ` AS at, direction,
                toUInt8(status = 'answered') AS answered,
                toUInt8(status != 'none' OR ended_at > toDateTime(0)) AS finished,
                answered_at, line_source, manager
            FROM calls
            WHERE client_phone != ''
        )
        WHERE ` + cond
}

// nowCallsSQL returns callSource.calls from the snapshot, reading the
// rebuild's rows with rebuildRows (callFactsRowsSQL or callsByTimeRowsSQL,
// whose %s is the condition):
// a call is, in the first of the three parts that knows it,
//
//  1. touched since the snapshot's cutoff (events arrived since; the
//     external table freshCallsTable): folded from calls_agg, found by key;
//  2. touched since the generation's rebuild: its newest call-facts row
//     at or before the cutoff, listed under its own phone (the rows after
//     the rebuild are few: PREWHERE reads only their version column
//     before the others);
//  3. otherwise: its row from the rebuild.
//
// Rows written after the snapshot by other refreshers are only ever of
// calls touched since its cutoff (part 1), so they are never read. Calls
// without a phone are never listed by a refresh, and are left out of the
// rebuild's rows here. cond is applied to the rebuild's rows where they
// are read (under the aliases of callColumns), so that ClickHouse can use
// the table's index (phone, or time) and read the other columns only where
// it holds.
func nowCallsSQL(rebuildRows string) func(cond string) string {
	return func(cond string) string {
		return `
` + fmt.Sprintf(rebuildRows, "(provider, call_id) NOT IN ("+touchedSinceSQL("@rebuilt")+") AND "+cond) + `
        UNION ALL
        SELECT ` + callColumns + `
        FROM
        (
            SELECT provider, call_id,
                tupleElement(f, 1) AS client_phone, tupleElement(f, 2) AS at, tupleElement(f, 3) AS direction,
                tupleElement(f, 4) AS answered, tupleElement(f, 5) AS finished, tupleElement(f, 6) AS answered_at,
                tupleElement(f, 7) AS line_source, tupleElement(f, 8) AS manager
            FROM
            (
                SELECT provider, call_id,
                    argMax((owner, contact_at, direction, answered, finished, answered_at, line_source, manager), version) AS f
                FROM call_facts
                PREWHERE version > @rebuilt AND version <= @cutoff
                WHERE generation = @gen AND phone = owner AND phone != ''
                    AND (provider, call_id) NOT IN ` + freshCallsTable + `
                GROUP BY provider, call_id
            )
        )
        WHERE ` + cond + `
        UNION ALL
        SELECT ` + callColumns + `
        FROM
        (
            SELECT provider, call_id, f_phone AS client_phone,
                multiIf(f_started > toDateTime(0), f_started, f_answered > toDateTime(0), f_answered, f_ended) AS at,
                f_direction AS direction,
                toUInt8(f_answered > toDateTime(0) OR f_status = 'answered') AS answered,
                toUInt8(f_answered > toDateTime(0) OR f_status != 'none' OR f_ended > toDateTime(0)) AS finished,
                f_answered AS answered_at, f_source AS line_source, f_manager AS manager
            FROM (` + fmt.Sprintf(foldedCallsSQL, "AND (provider, call_id) IN "+freshCallsTable) + `)
            WHERE f_phone != ''
        )
        WHERE ` + cond
	}
}

// callFactsRowsSQL is the rebuild's rows of calls with a phone from
// call_facts, sorted by phone: for conditions on client_phone. %s is the
// condition, on the columns of callColumns.
const callFactsRowsSQL = `
        SELECT phone AS client_phone, provider, call_id, contact_at AS at, direction, answered, finished,
            answered_at, line_source, manager
        FROM call_facts
        WHERE generation = @gen AND version = @rebuilt AND phone != '' AND %s`

// callsByTimeRowsSQL is the same rows from calls_by_time, sorted by time:
// for conditions that bound at to a period.
const callsByTimeRowsSQL = `
        SELECT phone AS client_phone, provider, call_id, at, direction, answered, finished, answered_at,
            line_source, manager
        FROM calls_by_time
        WHERE generation = @gen AND %s`

// touchedSinceSQL is the calls with events that arrived at or after the
// time in param (touchedSQL).
func touchedSinceSQL(param string) string {
	return strings.ReplaceAll(fmt.Sprintf(touchedSQL, ""), "@from", param)
}

// The external tables sent with every query of nowSource: the calls
// touched since the snapshot's cutoff, and every phone they may have had
// at any time (freshSQL), whose phone rollup rows may be out of date.
// Sent rather than nested as subqueries: ClickHouse 18.16 runs the
// subqueries of a nested query again at every level of it.
const (
	freshCallsTable  = "fresh_calls"
	freshPhonesTable = "fresh_phones"
)

// freshSQL is the calls touched since @cutoff with the phones each may
// have had at any time: per insert block, the largest (see
// changedCallsSQL).
var freshSQL = `
SELECT provider, call_id, groupUniqArray(ph)
FROM
(
    SELECT provider, call_id, maxMerge(client_phone) AS ph
    FROM calls_agg
    WHERE kind = 0 AND (provider, call_id) IN (` + touchedSinceSQL("@cutoff") + `)
    GROUP BY provider, call_id, at
)
GROUP BY provider, call_id`

// contactsNowSQL is callSource.contacts from the snapshot: the phone
// rollup's first contact and line source of every phone but the fresh
// ones, whose calls it folds from nowCallsSQL, with the deals'.
var contactsNowSQL = `
        SELECT phone,
            multiIf(first_at > toDateTime(0) AND (first_deal = toDateTime(0) OR first_at <= first_deal), first_at, first_deal)
                AS first_contact,
            source AS first_line_source,
            deal_source AS first_deal_source
        FROM
        (
            SELECT phone, first_at, source
            FROM phone_rollup FINAL
            WHERE generation = @gen AND phone NOT IN ` + freshPhonesTable + `
            UNION ALL
            SELECT client_phone AS phone,
                minIf(at, at > toDateTime(0)) AS first_at,
                argMinIf(line_source, (at, line_source), line_source != '' AND at > toDateTime(0)) AS source
            FROM (` + nowCallsSQL(callFactsRowsSQL)("client_phone IN "+freshPhonesTable) + `)
            GROUP BY client_phone
        )
        ANY FULL JOIN (` + dealFactsSQL + `) USING phone`

// sourcedQuery is a query in both forms.
type sourcedQuery struct{ raw, now string }

// sourced builds q from both sources.
func sourced(q func(callSource) string) sourcedQuery {
	return sourcedQuery{raw: q(rawSource), now: q(nowSource)}
}

// A reading is what a follow-up query reads: the newest snapshot with
// facts and what changed since (now: ctx carries the external tables of
// freshSQL, args the snapshot's parameters), or the calls view (the *Raw
// references, and what runs before the first snapshot).
type reading struct {
	ctx  context.Context
	base context.Context // ctx without the external tables, for queries that do not read the calls
	args []any
	now  bool
	head refreshMarker // the snapshot read, when now
}

// rawReading reads through the calls view.
func rawReading(ctx context.Context) reading { return reading{ctx: ctx, base: ctx} }

// form is q's form for r.
func (r reading) form(q sourcedQuery) string {
	if r.now {
		return q.now
	}
	return q.raw
}

// with is r's parameters followed by more; r's own stay as they are.
func (r reading) with(more ...any) []any { return append(slices.Clip(r.args), more...) }

// reading is the reading of the newest snapshot with facts, or the raw one
// when there is no snapshot yet.
func (s *Store) reading(ctx context.Context) (reading, error) {
	head, _, ok, err := factsSnapshot(ctx, s.conn)
	if err != nil || !ok {
		return rawReading(ctx), err
	}
	args := []any{clickhouse.Named("gen", head.generation), clickhouse.Named("rebuilt", head.rebuilt),
		clickhouse.Named("cutoff", head.cutoff)}
	qctx, err := s.withFresh(ctx, args)
	if err != nil {
		return reading{}, err
	}
	return reading{ctx: qctx, base: ctx, args: args, now: true, head: head}, nil
}

// withFresh returns ctx with what changed since the snapshot of args
// (freshSQL) attached as the external tables of the calls and the phones.
func (s *Store) withFresh(ctx context.Context, args []any) (context.Context, error) {
	calls, err := ext.NewTable(freshCallsTable, ext.Column("provider", "String"), ext.Column("call_id", "String"))
	if err != nil {
		return ctx, fmt.Errorf("external table of fresh calls: %w", err)
	}
	rows, err := s.conn.Query(ctx, freshSQL, args...)
	if err != nil {
		return ctx, fmt.Errorf("query calls changed since the snapshot: %w", err)
	}
	defer rows.Close()
	phones := map[string]bool{}
	for rows.Next() {
		var provider, callID string
		var phs []string
		if err := rows.Scan(&provider, &callID, &phs); err != nil {
			return ctx, fmt.Errorf("scan call changed since the snapshot: %w", err)
		}
		if err := calls.Append(provider, callID); err != nil {
			return ctx, fmt.Errorf("external table of fresh calls: %w", err)
		}
		for _, ph := range phs {
			if ph != "" {
				phones[ph] = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return ctx, fmt.Errorf("read calls changed since the snapshot: %w", err)
	}
	return chset.With(clickhouse.Context(ctx, clickhouse.WithExternalTable(calls)), freshPhonesTable, "phone", maps.Keys(phones))
}
