package analytics

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"golang.org/x/sync/errgroup"
)

// DefaultCallbackSLA is the callback SLA when none is configured: a missed
// call should be called back within 15 minutes.
const DefaultCallbackSLA = 15 * time.Minute

// Missed calls and callbacks. The rules, which docs/api.md repeats:
//
//   - A call's time is its start, or, if the PBX never reported one, its
//     answer, else its end (as in the funnel).
//   - Missed call: an inbound call that nobody answered and that is over:
//     it has a final status (missed, busy, failed, cancelled) or an end
//     time. A call still ringing is not missed yet. Calls without a caller
//     number (hidden numbers) are left out: there is nobody to call back.
//   - Called back: the first answered call, inbound or outbound, with the
//     same client phone that starts after the missed call started. The
//     callback time is that call's start (when the manager dialled, or the
//     client called again), not its answer. Several missed calls in a row
//     before one answered call are all called back by it, each with its own
//     delay.
//   - Within SLA: called back no later than the SLA after the missed call
//     (callback seconds <= SLA seconds). An open call is never within SLA.
//   - Owner: the client's responsible manager (clients.manager, newest
//     version), else the manager of the client's latest answered call that
//     started before the missed call (of two in the same second, the
//     larger manager value), else "" (nobody).
//   - Source of a contact (a single call): the ad source of the tracking
//     line the call came in on, else the client's ad source as in the
//     funnel, else "unknown".

// callTimeExpr is a call's time, as in the funnel's contactsSQL.
const callTimeExpr = `multiIf(started_at > toDateTime(0), started_at, answered_at > toDateTime(0), answered_at, ended_at)`

// missedCond selects missed calls from a callSource's calls (which all
// have a caller number): inbound, not answered, over.
const missedCond = `direction = 'inbound' AND answered = 0 AND finished = 1`

// contactSourceExpr is the source of one call from its line_source and the
// joined client columns of adSourceExpr.
const contactSourceExpr = `if(line_source != '', line_source, ` + adSourceExpr + `)`

// missedCallsSQL lists the missed calls of the period [@start, @end) from
// src, with what their source and owner need: the client's first line and
// deal sources and its client row. ClickHouse 18.16 allows one JOIN per
// SELECT, hence the nesting.
func missedCallsSQL(src callSource) string {
	return `
SELECT provider, call_id, phone, at, line_source, first_line_source, first_deal_source, c_source, c_manager
FROM
(
    SELECT provider, call_id, phone, at, line_source, first_line_source, first_deal_source
    FROM
    (
        SELECT client_phone AS phone, provider, call_id, at, line_source
        FROM (` + src.period(missedCond+" AND at >= @start AND at < @end") + `)
    )
    ANY LEFT JOIN (` + src.contacts + `) USING phone
)
ANY LEFT JOIN (` + latestClientsSQL + `) USING phone
ORDER BY at, provider, call_id`
}

// missedTable is the external table of the missed calls whose callbacks
// callbacksSQL finds, sent with the query: provider, call_id, phone, at,
// and ownerless (1 when the client has no responsible manager, so that
// the fallback owner is needed).
const missedTable = "missed_calls"

// callbacksSQL is, for each missed call of missedTable, its callback —
// the earliest answered call of its phone after it, from src — and, if
// it is ownerless, the manager of the latest answered call of its phone
// before it that has one (of two in the same second, the larger manager).
// The missed calls start at or after @start, so only the answered calls
// since then can call them back (read as a period), and only the
// ownerless clients' older ones are read (by phone). Each phone's answered calls are gathered once, as sorted
// arrays, and searched per missed call; the epoch and the empty string
// mean none. ClickHouse 18.16's lambdas cannot capture a column, so the
// missed call's time goes in as a second array of the same length.
func callbacksSQL(src callSource) string {
	return `
SELECT provider, call_id,
    arrayFirst((t, m) -> t > m, a_times, arrayResize([m_at], length(a_times), m_at)) AS called_back_at,
    tupleElement(arrayFirst((x, m) -> tupleElement(x, 1) < m, a_managed, arrayResize([m_at], length(a_managed), m_at)),
        2) AS last_manager
FROM
(
    SELECT provider, call_id, m_at, a_times, a_managed
    FROM
    (
        SELECT provider, call_id, phone AS client_phone, at AS m_at
        FROM ` + missedTable + `
    )
    ANY LEFT JOIN
    (
        SELECT client_phone,
            arraySort(groupArrayIf(at, at > @start)) AS a_times,
            arrayReverseSort(groupArrayIf((at, manager), manager != '' AND
                client_phone IN (SELECT phone FROM ` + missedTable + ` WHERE ownerless = 1))) AS a_managed
        FROM
        (
            SELECT client_phone, at, manager
            FROM (` + src.period("answered = 1 AND at > @start AND client_phone IN (SELECT phone FROM "+missedTable+")") + `)
            UNION ALL
            SELECT client_phone, at, manager
            FROM (` + src.calls("answered = 1 AND at <= @start AND "+
		"client_phone IN (SELECT phone FROM "+missedTable+" WHERE ownerless = 1)") + `)
        )
        GROUP BY client_phone
    ) USING client_phone
)`
}

// missedOnlySQL is the missed calls of the period [@start, @end) from the
// snapshot alone: their phones' client rows, deal sources and first line
// sources come from what the Store keeps and from the phone rollup
// (missedContacts) rather than from a join over every phone.
var missedOnlySQL = `
SELECT provider, call_id, client_phone, at, line_source
FROM (` + nowSource.period(missedCond+" AND at >= @start AND at < @end") + `)
ORDER BY at, provider, call_id`

// missedOpenSQL is missedOnlySQL for the open missed calls: a missed call
// is open exactly when its phone's latest answered call is not after it,
// which the phone rollup of the snapshot tells for every phone whose calls
// did not change since (not in freshPhonesTable). It lists the missed
// calls of those phones that are open, with the time and manager of the
// phone's latest answered call with a manager, and every missed call of
// the fresh phones (fresh = 1), whose callbacks are matched as for all.
// Like contactsNowSQL, it reads the newest rollup row of each phone: a
// refresh that finished after the reading listed the fresh phones can only
// have made the rows of other phones newer, never wrong.
var missedOpenSQL = `
SELECT provider, call_id, client_phone, at, line_source, fresh, last_managed_at, last_manager
FROM
(
    SELECT provider, call_id, client_phone, at, line_source, toUInt8(client_phone IN ` + freshPhonesTable + `) AS fresh
    FROM (` + nowSource.period(missedCond+" AND at >= @start AND at < @end") + `)
)
ANY LEFT JOIN
(
    SELECT phone AS client_phone, last_answered_at, last_managed_at, last_manager
    FROM phone_rollup FINAL
    WHERE generation = @gen
) USING client_phone
WHERE fresh = 1 OR at >= last_answered_at
ORDER BY at, provider, call_id`

var missedCallsQuery, callbacksQuery = sourced(missedCallsSQL), sourced(callbacksSQL)

// MissedCall is one missed call and what became of it. ClientPhone is
// there so that a manager can call back; it must never be logged.
type MissedCall struct {
	Provider, CallID string
	ClientPhone      string
	Source           string
	// Owner is the client's responsible manager as stored (a PBX extension
	// or a manager id), else the manager of the client's latest answered
	// call before this one, else "".
	Owner string
	At    time.Time // in the store's location
	// CalledBackAt is the start of the first answered call with the client
	// after At; zero while open.
	CalledBackAt time.Time
	// CallbackSeconds is CalledBackAt − At; -1 while open.
	CallbackSeconds int64
	Open            bool
	WithinSLA       bool
}

// Missed returns the missed calls that started in the period (see the rules
// above), oldest first, with their callbacks up to now, which may lie after
// the period. With openOnly, only those not called back yet. sla decides
// WithinSLA.
//
// It reads the call facts and the phone rollup of the newest snapshot and
// what changed since; without a snapshot it is MissedRaw.
func (s *Store) Missed(ctx context.Context, p Period, openOnly bool, sla time.Duration) ([]MissedCall, error) {
	r, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	return s.missed(r, p, openOnly, sla)
}

// MissedRaw is Missed through the calls view, folding every stored call:
// the reference Missed is tested against.
func (s *Store) MissedRaw(ctx context.Context, p Period, openOnly bool, sla time.Duration) ([]MissedCall, error) {
	return s.missed(rawReading(ctx), p, openOnly, sla)
}

// missedCall is a missed call with what its source and owner need: read
// by missedCallsSQL, or by missedOnlySQL and filled in by missedContacts.
type missedCall struct {
	MissedCall
	lineSource                       string
	firstLineSource, firstDealSource string
	clientSource, clientManager      string
	// rollupOpen is set for a call missedOpenSQL found open in the phone
	// rollup (no callback to search), with its phone's latest answered
	// call with a manager.
	rollupOpen    bool
	lastManagedAt time.Time
	lastManager   string
}

// callback is what became of a missed call: the start of the call that
// called it back (zero while open), and the manager of the client's latest
// answered call before it.
type callback struct {
	at          time.Time
	lastManager string
}

// missed reads the period's missed calls, then their callbacks, and
// applies the owner and source rules.
func (s *Store) missed(r reading, p Period, openOnly bool, sla time.Duration) ([]MissedCall, error) {
	calls, err := s.missedCalls(r, p, openOnly)
	if err != nil {
		return nil, err
	}
	start, _ := p.bounds()
	find := s.callbacks
	if r.now {
		find = s.callbacksNow
	}
	// Calls the rollup proves open need no search, except an ownerless one
	// whose latest managed answer is in its own second (not before it).
	outcome := make([]callback, len(calls))
	var search []missedCall
	var searched []int // the index in calls of each of search
	for i, c := range calls {
		switch {
		case !c.rollupOpen:
			search, searched = append(search, c), append(searched, i)
		case c.clientManager == "" && c.lastManagedAt.Equal(c.At):
			search, searched = append(search, c), append(searched, i)
		case c.clientManager == "":
			outcome[i] = callback{lastManager: c.lastManager}
		default:
			// Open, owned by its client row: nothing to find.
		}
	}
	found, err := find(r, start, search)
	if err != nil {
		return nil, err
	}
	for j, i := range searched {
		outcome[i] = found[j]
	}
	var out []MissedCall
	for i, c := range calls {
		m := c.MissedCall
		cb := outcome[i]
		m.Owner = cmp.Or(c.clientManager, cb.lastManager)
		m.Source = cmp.Or(c.lineSource, c.clientSource, c.firstDealSource, c.firstLineSource, "unknown")
		m.At = m.At.In(s.loc)
		if cb.at.Unix() <= 0 {
			m.CallbackSeconds, m.Open = -1, true
		} else {
			m.CalledBackAt = cb.at.In(s.loc)
			m.CallbackSeconds = m.CalledBackAt.Unix() - m.At.Unix()
			m.WithinSLA = m.CallbackSeconds <= int64(sla/time.Second)
		}
		if openOnly && !m.Open {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// missedCalls reads the period's missed calls with their phones' client
// rows and sources, ordered by time, then provider and call id (by the
// queries: sorting half a million of them here took most of a second):
// from the
// snapshot, the calls alone (with openOnly, those that may be open,
// missedOpenSQL) and the rest from missedContacts; through the calls view,
// missedCallsSQL's join.
func (s *Store) missedCalls(r reading, p Period, openOnly bool) ([]missedCall, error) {
	start, end := p.bounds()
	q := r.form(missedCallsQuery)
	switch {
	case r.now && openOnly:
		q = missedOpenSQL
	case r.now:
		q = missedOnlySQL
	}
	rows, err := s.conn.Query(r.ctx, q, r.with(clickhouse.Named("start", start), clickhouse.Named("end", end))...)
	if err != nil {
		return nil, fmt.Errorf("query missed calls: %w", err)
	}
	defer rows.Close()
	var out []missedCall
	for rows.Next() {
		var c missedCall
		var fresh uint8
		dest := []any{&c.Provider, &c.CallID, &c.ClientPhone, &c.At, &c.lineSource}
		switch {
		case r.now && openOnly:
			dest = append(dest, &fresh, &c.lastManagedAt, &c.lastManager)
		case !r.now:
			dest = append(dest, &c.firstLineSource, &c.firstDealSource, &c.clientSource, &c.clientManager)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan missed calls: %w", err)
		}
		c.rollupOpen = r.now && openOnly && fresh == 0
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read missed calls: %w", err)
	}
	if r.now {
		if err := s.missedContacts(r.base, r.head, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// missedContacts fills in the client source and manager and the deal
// source of the calls' phones from the rows the funnel keeps (clients and
// deals, read again only when they change), and the first line source,
// where a call's source needs it, from the phone rollup of the snapshot
// head the calls were read from.
func (s *Store) missedContacts(ctx context.Context, head refreshMarker, calls []missedCall) error {
	parts, err := s.keptParts(ctx)
	if err != nil {
		return err
	}
	var clients map[string]leadClient
	var deals map[string]dealFacts
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		clients, err = s.clients.load(gctx, s, parts)
		return err
	})
	g.Go(func() (err error) {
		deals, err = s.deals.load(gctx, s, parts)
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	need := map[string]bool{}
	for i := range calls {
		c := &calls[i]
		cl := clients[c.ClientPhone]
		c.clientSource, c.clientManager = cl.source, cl.manager
		c.firstDealSource = deals[c.ClientPhone].source
		if c.lineSource == "" && c.clientSource == "" && c.firstDealSource == "" {
			need[c.ClientPhone] = true
		}
	}
	if len(need) == 0 {
		return nil
	}
	lines, err := NewPhones(s.conn).firstLineSources(ctx, head, slices.Sorted(maps.Keys(need)))
	if err != nil {
		return err
	}
	for i := range calls {
		calls[i].firstLineSource = lines[calls[i].ClientPhone]
	}
	return nil
}

// callbacks runs callbacksSQL for calls, missed since start, and returns
// what became of each, in the order of calls.
func (s *Store) callbacks(r reading, start time.Time, calls []missedCall) ([]callback, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	byKey := make(map[callKey]callback, len(calls))
	missed, err := ext.NewTable(missedTable, ext.Column("provider", "String"), ext.Column("call_id", "String"),
		ext.Column("phone", "String"), ext.Column("at", "DateTime"), ext.Column("ownerless", "UInt8"))
	if err != nil {
		return nil, fmt.Errorf("external table of missed calls: %w", err)
	}
	for _, c := range calls {
		if err := missed.Append(c.Provider, c.CallID, c.ClientPhone, c.At, boolUInt8(c.clientManager == "")); err != nil {
			return nil, fmt.Errorf("external table of missed calls: %w", err)
		}
	}
	rows, err := s.conn.Query(clickhouse.Context(r.ctx, clickhouse.WithExternalTable(missed)), r.form(callbacksQuery),
		r.with(clickhouse.Named("start", start))...)
	if err != nil {
		return nil, fmt.Errorf("query callbacks of %d missed calls: %w", len(calls), err)
	}
	defer rows.Close()
	for rows.Next() {
		var k callKey
		var cb callback
		if err := rows.Scan(&k.provider, &k.callID, &cb.at, &cb.lastManager); err != nil {
			return nil, fmt.Errorf("scan callbacks: %w", err)
		}
		byKey[k] = cb
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read callbacks: %w", err)
	}
	out := make([]callback, len(calls))
	for i, c := range calls {
		out[i] = byKey[callKey{c.Provider, c.CallID}]
	}
	return out, nil
}

// answeredSinceSQL is the answered calls at or after @start, from the
// snapshot, of the phones of phonesTable: those that can call back a call
// missed since @start, or be its phone's last answered call before it. By
// phone (bytes, as Go compares strings), then time, then manager.
var answeredSinceSQL = `
SELECT client_phone, at, manager
FROM (` + nowSource.period("answered = 1 AND at >= @start AND client_phone IN "+phonesTable) + `)
ORDER BY client_phone, at, manager`

// managerBeforeSQL is, for the phones of phonesTable, the manager of
// their latest answered call before @start that has one (of two in the
// same second, the larger manager), from the snapshot.
var managerBeforeSQL = `
SELECT client_phone, argMax(manager, (at, manager))
FROM (` + nowSource.calls("answered = 1 AND at < @start AND manager != '' AND client_phone IN "+phonesTable) + `)
GROUP BY client_phone`

// answeredCall is an answered call of a phone, as the callbacks need it.
type answeredCall struct {
	at      time.Time
	manager string
}

// callbacksNow is callbacks from the snapshot: it reads the answered
// calls of the missed calls' phones since start, sorted by phone, and, for
// the phones without a responsible manager, the manager of their latest
// answered call before, and matches them to the missed calls here
// (callbacksSQL's rules) as they stream in, the missed calls sorted the
// same way: no per-phone lists are kept, and no arrays are searched per
// missed call on the server.
func (s *Store) callbacksNow(r reading, start time.Time, calls []missedCall) ([]callback, error) {
	out := make([]callback, len(calls))
	if len(calls) == 0 {
		return out, nil
	}
	phones, ownerless := map[string]bool{}, map[string]bool{}
	for _, c := range calls {
		phones[c.ClientPhone] = true
		if c.clientManager == "" {
			ownerless[c.ClientPhone] = true
		}
	}
	before := map[string]string{}
	g, gctx := errgroup.WithContext(r.ctx)
	g.Go(func() error {
		qctx, err := withPhones(gctx, maps.Keys(phones))
		if err != nil {
			return err
		}
		rows, err := s.conn.Query(qctx, answeredSinceSQL, r.with(clickhouse.Named("start", start))...)
		if err != nil {
			return fmt.Errorf("query the answered calls of %d phones: %w", len(phones), err)
		}
		defer rows.Close()
		m := newCallbackMatcher(calls, out, ownerless)
		var phone string
		var a answeredCall
		for rows.Next() {
			if err := rows.Scan(&phone, &a.at, &a.manager); err != nil {
				return fmt.Errorf("scan answered calls: %w", err)
			}
			if err := m.add(phone, a); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read answered calls: %w", err)
		}
		m.flush("")
		return nil
	})
	if len(ownerless) > 0 {
		g.Go(func() error {
			qctx, err := withPhones(gctx, maps.Keys(ownerless))
			if err != nil {
				return err
			}
			rows, err := s.conn.Query(qctx, managerBeforeSQL, r.with(clickhouse.Named("start", start))...)
			if err != nil {
				return fmt.Errorf("query the earlier managers of %d phones: %w", len(ownerless), err)
			}
			defer rows.Close()
			for rows.Next() {
				var phone, manager string
				if err := rows.Scan(&phone, &manager); err != nil {
					return fmt.Errorf("scan earlier managers: %w", err)
				}
				before[phone] = manager
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("read earlier managers: %w", err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// An ownerless call with no answered call with a manager before it
	// since start falls back to the phone's latest one before start.
	for i, c := range calls {
		if ownerless[c.ClientPhone] && out[i].lastManager == "" {
			out[i].lastManager = before[c.ClientPhone]
		}
	}
	return out, nil
}

// callbackMatcher matches a stream of answered calls, sorted by phone,
// time and manager, to the missed calls, sorted by phone and time
// (order): the first answered call after a missed call calls it back; for
// an ownerless phone, the latest answered call with a manager before it
// owns it.
type callbackMatcher struct {
	calls     []missedCall
	order     []int // indexes of calls by phone, then time
	next      int   // the first of order not matched yet
	out       []callback
	ownerless map[string]bool
	phone     string         // the phone of answered
	answered  []answeredCall // the answered calls of phone so far
}

// newCallbackMatcher matches to calls, writing what became of each into
// out; ownerless are the phones whose owner the matcher finds.
func newCallbackMatcher(calls []missedCall, out []callback, ownerless map[string]bool) *callbackMatcher {
	// The missed calls by phone, then time (their keys sorted, rather than
	// the calls or indexes into them: twice as fast).
	type key struct {
		phone string
		at    int64
		i     int
	}
	keys := make([]key, len(calls))
	for i, c := range calls {
		keys[i] = key{c.ClientPhone, c.At.Unix(), i}
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(strings.Compare(a.phone, b.phone), cmp.Compare(a.at, b.at)) })
	order := make([]int, len(keys))
	for j, k := range keys {
		order[j] = k.i
	}
	return &callbackMatcher{calls: calls, order: order, out: out, ownerless: ownerless}
}

// add takes the next answered call of the stream. A stream out of order
// is an error: matched, it would leave calls open that were called back.
func (m *callbackMatcher) add(phone string, a answeredCall) error {
	if phone != m.phone {
		if phone < m.phone {
			return fmt.Errorf("answered calls out of order: a phone sorts before the previous one")
		}
		m.flush(phone)
		m.phone, m.answered = phone, m.answered[:0]
	} else if n := len(m.answered); n > 0 && cmp.Or(a.at.Compare(m.answered[n-1].at), cmp.Compare(a.manager, m.answered[n-1].manager)) < 0 {
		return fmt.Errorf("answered calls of a phone out of order")
	}
	m.answered = append(m.answered, a)
	return nil
}

// flush matches the missed calls of m.phone, and skips those of the phones
// before upto (all the rest for ""), which have no answered call since
// start.
func (m *callbackMatcher) flush(upto string) {
	for m.next < len(m.order) {
		i := m.order[m.next]
		c := &m.calls[i]
		switch {
		case c.ClientPhone == m.phone && m.phone != "":
			m.out[i] = m.match(c)
		case upto == "" || c.ClientPhone < upto:
			// No answered call since start: open, and its owner, if
			// ownerless, is from before start.
		default:
			return
		}
		m.next++
	}
}

// match is what became of c given the answered calls of its phone.
func (m *callbackMatcher) match(c *missedCall) callback {
	as := m.answered
	var cb callback
	i, _ := slices.BinarySearchFunc(as, c.At, func(a answeredCall, t time.Time) int {
		return cmp.Or(a.at.Compare(t), -1) // the first call after t
	})
	if i < len(as) {
		cb.at = as[i].at
	}
	if m.ownerless[c.ClientPhone] {
		for j := i - 1; j >= 0; j-- {
			if a := as[j]; a.at.Before(c.At) && a.manager != "" {
				cb.lastManager = a.manager
				break
			}
		}
	}
	return cb
}

// MissedReport is the missed calls of a period and their callbacks.
type MissedReport struct {
	From       string       `json:"from"`
	To         string       `json:"to"`
	Timezone   string       `json:"timezone"`
	SLASeconds int64        `json:"sla_seconds"`
	Missed     []MissedLine `json:"missed"`
}

// MissedLine is one missed call for the API. Owner is a configured manager
// id where the stored owner is one of their extensions or ids, otherwise
// as stored; OwnerName is empty unless the owner is configured.
// CalledBackAt and CallbackSeconds are absent (nil) while open.
type MissedLine struct {
	Provider        string     `json:"provider"`
	CallID          string     `json:"call_id"`
	ClientPhone     string     `json:"client_phone"`
	Source          string     `json:"source"`
	Owner           string     `json:"owner"`
	OwnerName       string     `json:"owner_name"`
	At              time.Time  `json:"at"`
	CalledBackAt    *time.Time `json:"called_back_at,omitempty"`
	CallbackSeconds *int64     `json:"callback_seconds,omitempty"`
	Open            bool       `json:"open"`
	WithinSLA       bool       `json:"within_sla"`
}

// BuildMissedReport maps owners to managers, keeping the store's order.
func BuildMissedReport(p Period, rows []MissedCall, team *Team, sla time.Duration) MissedReport {
	rep := MissedReport{
		From:       p.From.Format(time.DateOnly),
		To:         p.To.Format(time.DateOnly),
		Timezone:   p.From.Location().String(),
		SLASeconds: int64(sla / time.Second),
		Missed:     make([]MissedLine, 0, len(rows)),
	}
	for _, m := range rows {
		line := MissedLine{
			Provider: m.Provider, CallID: m.CallID, ClientPhone: m.ClientPhone, Source: m.Source,
			At: m.At, Open: m.Open, WithinSLA: m.WithinSLA,
		}
		line.Owner, line.OwnerName = managerOf(team, m.Owner)
		if !m.Open {
			at, secs := m.CalledBackAt, m.CallbackSeconds
			line.CalledBackAt, line.CallbackSeconds = &at, &secs
		}
		rep.Missed = append(rep.Missed, line)
	}
	return rep
}

// managerOf maps a stored manager (an extension or a manager id) to the
// configured manager's id and name; anything else is returned as it is,
// with no name.
func managerOf(team *Team, stored string) (id, name string) {
	if m, ok := team.Lookup(stored); ok && stored != "" {
		return m.ID, m.Name
	}
	return stored, ""
}
