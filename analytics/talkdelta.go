package analytics

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
)

// bucketSeconds is the width of a rollup bucket. Every time zone in use
// has an offset that is a whole number of quarter hours, so a calendar day
// anywhere is a whole number of buckets.
const bucketSeconds = 900

// talkDelta is a signed share of one call in the talk-time rollup: +1 call
// and its seconds where a snapshot counts it, −1 and minus its seconds
// where the earlier snapshot counted it.
type talkDelta struct {
	bucket   time.Time // start of the quarter hour of the call's start (UTC)
	day      time.Time // calendar day of bucket in the zone asked for
	manager  string
	category client.Category
	status   call.Status // the calls view's status; talk time counts StatusAnswered
	seconds  int64
	calls    int64
}

// foldSide is a call folded from some of its events: what the analytics
// need.
type foldSide struct {
	direction                call.Direction
	started, answered, ended time.Time
	status                   call.Status
	reported                 uint32
	manager, phone           string
	lineSource               string
	day                      time.Time
}

// answeredCall reports whether the calls view says 'answered': an answer
// time, or the answered status.
func (f foldSide) answeredCall() bool {
	return !f.answered.IsZero() || f.status == call.StatusAnswered
}

// finished reports whether the call is over, as the missed-call rules
// read the calls view: a final status (answered included) or an end.
func (f foldSide) finished() bool {
	return f.answeredCall() || f.status != call.StatusNone || !f.ended.IsZero()
}

// counted reports whether the call counts in the talk-time rollup: it
// has a known start. Talk time takes the answered ones (viewStatus), as
// the calls view and call.Fold decide; calls by status takes them all.
func (f foldSide) counted() bool {
	return !f.started.IsZero()
}

// viewStatus is the call's status in the calls view: answered if it has
// an answer time, else the largest status of its events.
func (f foldSide) viewStatus() call.Status {
	if f.answeredCall() {
		return call.StatusAnswered
	}
	return f.status
}

// talk is the call's talk seconds by call.Talk, the calls view's rule.
func (f foldSide) talk() uint32 {
	st := f.status
	if !f.answered.IsZero() {
		st = call.StatusAnswered
	}
	return call.Talk(st, f.answered, f.ended, f.reported)
}

// contactAt is the call's time for the funnel: its start, else its answer,
// else its end; zero if none is known.
func (f foldSide) contactAt() time.Time {
	switch {
	case !f.started.IsZero():
		return f.started
	case !f.answered.IsZero():
		return f.answered
	}
	return f.ended
}

// changedCall is a call with events that arrived between two cutoffs,
// folded as of each.
type changedCall struct {
	provider, callID string
	old, new         foldSide
	// arrived is the phones of the events that arrived in between (per
	// insert block the largest: see changedCallsSQL).
	arrived []string
}

// callKey identifies a call.
type callKey struct{ provider, callID string }

// phones is every phone the call may have been listed under between the
// two cutoffs: its phone as of each, and those of the events that arrived
// in between (a phone it had only between the cutoffs came with one of
// them). The empty phone is left out.
func (c changedCall) phones() []string {
	out := make([]string, 0, 2+len(c.arrived))
	for _, p := range append([]string{c.old.phone, c.new.phone}, c.arrived...) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// foldChanges folds every call with events that arrived in [from, to) (to
// zero: everything stored now) as of from and as of to, with days in zone
// tz. Both folds of a call come from one read of its calls_agg rows; a
// call whose events all arrived after from has a zero old fold. Without
// talk, the folds leave out what only talk time needs (manager, reported
// seconds, day).
func foldChanges(ctx context.Context, conn driver.Conn, from, to time.Time, tz string, talk bool) ([]changedCall, error) {
	cond := ""
	args := []any{clickhouse.Named("from", from), clickhouse.Named("tz", tz)}
	if !to.IsZero() {
		cond = "AND at < @to"
		args = append(args, clickhouse.Named("to", to))
	}
	outer, inner := phoneFoldOuterSQL, ""
	if talk {
		outer, inner = talkFoldOuterSQL, talkFoldInnerSQL
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(changedCallsSQL, cond, outer, inner), args...)
	if err != nil {
		return nil, fmt.Errorf("query calls changed since %s: %w", from.UTC().Format(time.DateTime), err)
	}
	defer rows.Close()
	var out []changedCall
	for rows.Next() {
		var c changedCall
		var oStatus, nStatus, oDir, nDir uint8
		if err := rows.Scan(&c.provider, &c.callID,
			&c.old.started, &c.old.answered, &c.old.ended, &oStatus, &c.old.phone, &c.old.lineSource, &oDir,
			&c.new.started, &c.new.answered, &c.new.ended, &nStatus, &c.new.phone, &c.new.lineSource, &nDir,
			&c.arrived,
			&c.old.reported, &c.old.manager, &c.old.day, &c.new.reported, &c.new.manager, &c.new.day,
		); err != nil {
			return nil, fmt.Errorf("scan changed call: %w", err)
		}
		c.old.status, c.new.status = call.Status(oStatus), call.Status(nStatus)
		c.old.direction, c.new.direction = call.Direction(oDir), call.Direction(nDir)
		for _, f := range []*foldSide{&c.old, &c.new} {
			f.started, f.answered, f.ended = unknownZero(f.started), unknownZero(f.answered), unknownZero(f.ended)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changed calls: %w", err)
	}
	return out, nil
}

// talkChanges returns, for every call whose talk-time share may differ
// between the snapshot as of from and the one as of to (zero: everything
// stored now), its share in the earlier snapshot with a minus sign and its
// share in the later one, in that order; a call whose share did not change
// gives nothing. Shares carry the day of their bucket in zone tz. It also
// returns the calls with events in between (foldChanges).
//
// A snapshot "as of T" counts the events and grade-history rows that
// reached ClickHouse before T (their `at`). The calls that may differ are
// those with events in between, and the calls of phones that got grade
// history in between: those are read from the call facts of generation
// gen as of from (they had no events since, so that is also their fold as
// of to). The two are independent reads, run side by side.
func talkChanges(ctx context.Context, conn driver.Conn, gen uint64, from, to time.Time, tz string) (
	[]talkDelta, []changedCall, error) {
	// Each side reads the grade history of its own phones (those of both
	// sides read the same rows).
	var changed []changedCall
	var regraded []talkShare
	var changedHist, regradedHist map[string]gradeHistory
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if changed, err = foldChanges(gctx, conn, from, to, tz, true); err != nil {
			return err
		}
		phones := map[string]struct{}{}
		for _, c := range changed {
			for _, f := range []foldSide{c.old, c.new} {
				if f.counted() && f.phone != "" {
					phones[f.phone] = struct{}{}
				}
			}
		}
		changedHist, err = phoneHistories(gctx, conn, phones)
		return err
	})
	// The re-graded phones' calls and grade histories both select the
	// phones in ClickHouse (regradedSQL), so they need not wait for each
	// other. A grade row stored between the two reads is seen or not as
	// the history read ran after or before it, as when the reads followed
	// each other; a phone it re-grades for the first time is then in one
	// read only: a history no call asks for, or calls without the row in
	// their history, which then read the same category on both sides: no
	// change. The history read covers the re-graded phones without counted
	// calls too, which the calls read used to leave out.
	g.Go(func() (err error) {
		regraded, err = regradedCalls(gctx, conn, gen, from, to, tz)
		return err
	})
	g.Go(func() (err error) {
		regradedHist, err = regradedHistories(gctx, conn, from, to)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	hist := regradedHist
	maps.Copy(hist, changedHist)
	touched := make(map[callKey]bool, len(changed))
	for _, c := range changed {
		touched[callKey{c.provider, c.callID}] = true
	}
	regraded = slices.DeleteFunc(regraded, func(s talkShare) bool { return touched[s.call] })
	var out []talkDelta
	for _, s := range regraded {
		oc, nc := hist[s.phone].categoryAt(s.started, from), hist[s.phone].categoryAt(s.started, to)
		if oc != nc {
			out = append(out, s.delta(oc, -1), s.delta(nc, 1))
		}
	}
	for _, c := range changed {
		var o, n talkDelta
		oc, nc := c.old.counted(), c.new.counted()
		if oc {
			o = shareOf(c.old).delta(hist[c.old.phone].categoryAt(c.old.started, from), -1)
		}
		if nc {
			n = shareOf(c.new).delta(hist[c.new.phone].categoryAt(c.new.started, to), 1)
		}
		if oc && nc && o.bucket.Equal(n.bucket) && o.manager == n.manager && o.category == n.category &&
			o.status == n.status && o.seconds == -n.seconds {
			continue
		}
		if oc {
			out = append(out, o)
		}
		if nc {
			out = append(out, n)
		}
	}
	return out, changed, nil
}

// regradedCalls returns the counted calls of the phones that got grade
// history in [from, to) (to zero: up to now), as of from, from the call
// facts of generation gen.
func regradedCalls(ctx context.Context, conn driver.Conn, gen uint64, from, to time.Time, tz string) ([]talkShare, error) {
	cond, args := regradedCond(from, to)
	args = append(args, clickhouse.Named("gen", gen), clickhouse.Named("asof", from), clickhouse.Named("tz", tz))
	rows, err := conn.Query(ctx, regradedCallsSQL(cond), args...)
	if err != nil {
		return nil, fmt.Errorf("query calls of re-graded phones: %w", err)
	}
	defer rows.Close()
	var out []talkShare
	for rows.Next() {
		var s talkShare
		var status uint8
		if err := rows.Scan(&s.phone, &s.call.provider, &s.call.callID, &s.started, &s.manager, &s.seconds, &s.day,
			&status); err != nil {
			return nil, fmt.Errorf("scan call of a re-graded phone: %w", err)
		}
		s.started, s.status = unknownZero(s.started), call.Status(status)
		if !s.started.IsZero() {
			out = append(out, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read calls of re-graded phones: %w", err)
	}
	return out, nil
}

// regradedCond is regradedSQL's condition and parameters for the phones
// that got grade history in [from, to) (to zero: up to now).
func regradedCond(from, to time.Time) (string, []any) {
	args := []any{clickhouse.Named("from", from)}
	if to.IsZero() {
		return "", args
	}
	return "AND at < @to", append(args, clickhouse.Named("to", to))
}

// talkShare is what the talk-time rollup counts of one call with a start.
type talkShare struct {
	call    callKey
	phone   string
	started time.Time
	day     time.Time // of the quarter hour of started, in the zone asked for
	manager string
	status  call.Status // viewStatus
	seconds uint32
}

// shareOf is the talk share of a counted fold.
func shareOf(f foldSide) talkShare {
	return talkShare{phone: f.phone, started: f.started, day: f.day, manager: f.manager, status: f.viewStatus(),
		seconds: f.talk()}
}

// delta is the share in category cat, signed.
func (s talkShare) delta(cat client.Category, sign int64) talkDelta {
	return talkDelta{
		bucket:   time.Unix(s.started.Unix()/bucketSeconds*bucketSeconds, 0).UTC(),
		day:      s.day,
		manager:  s.manager,
		category: cat,
		status:   s.status,
		seconds:  sign * int64(s.seconds),
		calls:    sign,
	}
}

// unknownZero maps ClickHouse's zero DateTime (the epoch), which the fold
// uses for "unknown", to the zero time.Time.
func unknownZero(t time.Time) time.Time {
	if t.Unix() == 0 {
		return time.Time{}
	}
	return t.UTC()
}

// gradeRow is one stored grade-history row of a phone.
type gradeRow struct {
	validFrom, recordedAt, at time.Time
	category                  client.Category
}

// gradeHistory is a phone's grade-history rows in storage order.
type gradeHistory []gradeRow

// categoryAt is the category at t by the rows that reached ClickHouse
// before cutoff (all of them if cutoff is zero), by the rule of talk
// time: per valid_from the row with the newest recorded_at (then the
// larger category); of those, the latest at or before t, or, if all are
// after t, the first; unknown without rows.
func (h gradeHistory) categoryAt(t, cutoff time.Time) client.Category {
	byFrom := map[int64]gradeRow{}
	for _, r := range h {
		if !cutoff.IsZero() && !r.at.Before(cutoff) {
			continue
		}
		k := r.validFrom.Unix()
		if b, ok := byFrom[k]; !ok || r.recordedAt.After(b.recordedAt) ||
			(r.recordedAt.Equal(b.recordedAt) && r.category > b.category) {
			byFrom[k] = r
		}
	}
	if len(byFrom) == 0 {
		return client.CategoryUnknown
	}
	froms := make([]int64, 0, len(byFrom))
	for k := range byFrom {
		froms = append(froms, k)
	}
	slices.Sort(froms)
	pick := froms[0]
	for _, k := range froms {
		if k <= t.Unix() {
			pick = k
		}
	}
	return byFrom[pick].category
}

// phoneHistories reads the grade history of phones.
func phoneHistories(ctx context.Context, conn driver.Conn, phones map[string]struct{}) (map[string]gradeHistory, error) {
	if len(phones) == 0 {
		return map[string]gradeHistory{}, nil
	}
	qctx, err := withPhones(ctx, maps.Keys(phones))
	if err != nil {
		return nil, err
	}
	return readHistories(qctx, conn, fmt.Sprintf("%d phones", len(phones)), phoneHistorySQL)
}

// regradedHistories reads the grade history of the phones that got grade
// history in [from, to) (to zero: up to now).
func regradedHistories(ctx context.Context, conn driver.Conn, from, to time.Time) (map[string]gradeHistory, error) {
	cond, args := regradedCond(from, to)
	return readHistories(ctx, conn, "re-graded phones", regradedHistorySQL(cond), args...)
}

// readHistories runs a historyOfSQL query of the phones described by what.
func readHistories(ctx context.Context, conn driver.Conn, what, q string, args ...any) (map[string]gradeHistory, error) {
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query grade history of %s: %w", what, err)
	}
	defer rows.Close()
	out := map[string]gradeHistory{}
	for rows.Next() {
		var phone, cat string
		var r gradeRow
		if err := rows.Scan(&phone, &r.validFrom, &cat, &r.recordedAt, &r.at); err != nil {
			return nil, fmt.Errorf("scan grade history of %s: %w", what, err)
		}
		r.category = client.Category(cat)
		out[phone] = append(out[phone], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read grade history of %s: %w", what, err)
	}
	return out, nil
}
