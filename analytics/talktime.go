package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
)

// TalkRow is talk time of one manager (PBX extension) with clients of one
// category on one day.
type TalkRow struct {
	Day       time.Time // midnight in the store's location
	Extension string
	Category  client.Category
	Seconds   uint64
	Calls     uint64
}

// TalkTime returns talk time per day, extension and category for the
// period. If extensions is not empty, only those managers are counted.
//
// The definition: the talk seconds (the calls view's talk_seconds) of the
// answered calls that started in the period, by the day of their start in
// the store's zone, their manager, and the client's category at the
// start: the latest grade-history row at or before it, or, before the
// first row, the first known category; unknown without history.
//
// It reads the newest talk-time snapshot Rollup published and adds what
// changed since its cutoff — the calls with events since, folded here from
// calls_agg, and the calls of phones re-graded since, from the call facts
// — so the result is exact whether the refresher is running, lagging or
// stopped; without any snapshot (or for a zone whose days do not start on
// a quarter hour) it folds every call from calls_agg instead.
func (s *Store) TalkTime(ctx context.Context, p Period, extensions []string) ([]TalkRow, error) {
	start, end := p.bounds()
	if !quarterHourDays(p) {
		return s.talkTimeFull(ctx, start, end, extensions)
	}
	head, chain, ok, err := factsSnapshot(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.talkTimeFull(ctx, start, end, extensions)
	}
	tz := s.loc.String()
	q, filter := rollupQuarterHoursSQL, ""
	if chain.hasDays(tz) {
		q = rollupDaysSQL
	}
	args := []any{
		clickhouse.Named("tz", tz), clickhouse.Named("epoch", head.epoch), clickhouse.Named("chain", chain.ids()),
		clickhouse.Named("start", start), clickhouse.Named("end", end),
		clickhouse.Named("first", utcDate(p.From)), clickhouse.Named("last", utcDate(p.To)),
	}
	if len(extensions) > 0 {
		filter = "AND has(@ext, manager)"
		args = append(args, clickhouse.Named("ext", extensions))
	}
	// The snapshot and the changes since it are independent reads: run
	// them side by side.
	sums := talkSums{}
	var deltas []talkDelta
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return s.scanTalk(gctx, "talk-time snapshot", fmt.Sprintf(q, filter), args, true,
			func(day time.Time, manager, cat string, seconds, calls int64) {
				sums.add("", day, manager, client.Category(cat), call.StatusAnswered, seconds, calls)
			})
	})
	g.Go(func() (err error) {
		deltas, _, err = talkChanges(gctx, s.conn, head.generation, head.cutoff, time.Time{}, tz)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, d := range deltas {
		if d.status != call.StatusAnswered || d.bucket.Before(start) || !d.bucket.Before(end) ||
			(len(extensions) > 0 && !slices.Contains(extensions, d.manager)) {
			continue
		}
		sums.add("", d.day, d.manager, d.category, d.status, d.seconds, d.calls)
	}
	return sums.rows(s.loc)
}

// utcDate is the date of a day in its zone as a time at 00:00 UTC, the
// form of the rollup's day rows.
func utcDate(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

// TalkTimeRaw is TalkTime computed the straightforward way, folding every
// stored event through the calls view. It is the reference the
// pre-aggregated path is tested against and the baseline of `make bench`;
// it is slow on large data (a full scan and fold of call_events).
func (s *Store) TalkTimeRaw(ctx context.Context, p Period, extensions []string) ([]TalkRow, error) {
	start, end := p.bounds()
	filter := ""
	args := []any{clickhouse.Named("tz", s.loc.String()), clickhouse.Named("start", start), clickhouse.Named("end", end)}
	if len(extensions) > 0 {
		filter = "AND has(@ext, manager)"
		args = append(args, clickhouse.Named("ext", extensions))
	}
	return s.talkRows(ctx, "talk time (raw)", fmt.Sprintf(talkTimeRawSQL, filter), args)
}

// talkTimeFull is talk time folded from the whole of calls_agg.
func (s *Store) talkTimeFull(ctx context.Context, start, end time.Time, extensions []string) ([]TalkRow, error) {
	filter := ""
	args := []any{clickhouse.Named("tz", s.loc.String()), clickhouse.Named("start", start), clickhouse.Named("end", end)}
	if len(extensions) > 0 {
		filter = "AND has(@ext, manager)"
		args = append(args, clickhouse.Named("ext", extensions))
	}
	q := fmt.Sprintf(talkTimeFullSQL, "", "AND f_started >= @start AND f_started < @end", "", filter)
	return s.talkRows(ctx, "talk time", q, args)
}

// talkRows runs a query returning (day, manager, category, seconds,
// calls) with unsigned sums.
func (s *Store) talkRows(ctx context.Context, what, q string, args []any) ([]TalkRow, error) {
	var out []TalkRow
	err := s.scanTalk(ctx, what, q, args, false, func(day time.Time, manager, cat string, seconds, calls int64) {
		out = append(out, TalkRow{Day: dayIn(day, s.loc), Extension: manager, Category: client.Category(cat),
			Seconds: uint64(seconds), Calls: uint64(calls)})
	})
	return out, err
}

// scanTalk runs q and passes each (day, manager, category, seconds,
// calls) row to f; the sums are Int64 if signed, else UInt64.
func (s *Store) scanTalk(ctx context.Context, what, q string, args []any, signed bool,
	f func(day time.Time, manager, cat string, seconds, calls int64)) error {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var day time.Time
		var manager, cat string
		var seconds, calls int64
		if signed {
			err = rows.Scan(&day, &manager, &cat, &seconds, &calls)
		} else {
			var us, uc uint64
			err = rows.Scan(&day, &manager, &cat, &us, &uc)
			seconds, calls = int64(us), int64(uc)
		}
		if err != nil {
			return fmt.Errorf("scan %s: %w", what, err)
		}
		f(day, manager, cat, seconds, calls)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// talkKey is a grain ("" for quarter hours, else a zone's days), a day or
// quarter hour (Unix seconds), a manager, a category and a call status.
type talkKey struct {
	zone     string
	at       int64
	manager  string
	category client.Category
	status   call.Status
}

// talkSum is signed talk seconds and calls.
type talkSum struct{ seconds, calls int64 }

// talkSums adds up signed talk time.
type talkSums map[talkKey]talkSum

func (m talkSums) add(zone string, at time.Time, manager string, cat client.Category, st call.Status,
	seconds, calls int64) {
	k := talkKey{zone: zone, at: at.Unix(), manager: manager, category: cat, status: st}
	s := m[k]
	s.seconds += seconds
	s.calls += calls
	m[k] = s
}

// rows returns the days with calls, sorted by day, manager and category
// (as text), with days as midnights in loc: talk time, when m holds the
// answered calls alone. A negative sum means the snapshot and the changes
// disagree, which is a bug: it is an error rather than a wrong number.
func (m talkSums) rows(loc *time.Location) ([]TalkRow, error) {
	var out []TalkRow
	for k, s := range m {
		if s.calls < 0 || s.seconds < 0 || (s.calls == 0 && s.seconds != 0) {
			return nil, fmt.Errorf("talk time of %s %s %s: %d s in %d calls: rollup and changes disagree",
				time.Unix(k.at, 0).UTC().Format(time.DateOnly), k.manager, k.category, s.seconds, s.calls)
		}
		if s.calls == 0 {
			continue
		}
		out = append(out, TalkRow{Day: dayIn(time.Unix(k.at, 0).UTC(), loc), Extension: k.manager, Category: k.category,
			Seconds: uint64(s.seconds), Calls: uint64(s.calls)})
	}
	slices.SortFunc(out, func(a, b TalkRow) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Extension, b.Extension), cmp.Compare(a.Category, b.Category))
	})
	return out, nil
}

// dayIn turns a ClickHouse Date (midnight UTC) into midnight in loc.
func dayIn(d time.Time, loc *time.Location) time.Time {
	y, mo, dd := d.Date()
	return time.Date(y, mo, dd, 0, 0, 0, 0, loc)
}

// quarterHourDays reports whether every calendar day of the period starts
// on a quarter hour, so that days are unions of rollup buckets (true for
// every zone in use today).
func quarterHourDays(p Period) bool {
	for d := p.From; !d.After(p.To); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, d.Location()) {
		if d.Unix()%bucketSeconds != 0 {
			return false
		}
	}
	_, end := p.bounds()
	return end.Unix()%bucketSeconds == 0
}

// StatusCount is the number of calls with one status.
type StatusCount struct {
	Status string
	Calls  uint64
}

// callsByStatusSQL counts the calls started in [@start, @end) by status,
// as the calls view folds them. It folds only the calls with an event
// started in the period, not the whole store: a call's start is the
// earliest of its events' starts, so every call started in the period
// has one (refreshed with the gauges, today's calls are a sliver of it).
const callsByStatusSQL = `
SELECT f_status, toUInt64(count())
FROM
(
    SELECT
        minIf(started_at, started_at > toDateTime(0)) AS f_started,
        if(minIf(answered_at, answered_at > toDateTime(0)) > toDateTime(0), 'answered', toString(max(status))) AS f_status
    FROM call_events
    WHERE (provider, call_id) IN
    (
        SELECT provider, call_id FROM call_events WHERE started_at >= @start AND started_at < @end
    )
    GROUP BY provider, call_id
)
WHERE f_started >= @start AND f_started < @end
GROUP BY f_status
ORDER BY f_status`

// callsByStatusRawSQL is callsByStatusSQL through the calls view, which
// folds every stored call: the reference it is tested against.
const callsByStatusRawSQL = `SELECT status, toUInt64(count()) FROM calls
WHERE started_at >= @start AND started_at < @end GROUP BY status ORDER BY status`

// CallsByStatus counts the calls started in the period by their status
// in the calls view: answered if answered, else the largest status their
// events gave (none while a call has no final status yet), sorted by
// status.
//
// Like TalkTime it reads the newest snapshot, whose rollup counts every
// call with a start by quarter hour and status, and adds what changed
// since its cutoff; without a snapshot (or for a zone whose days do not
// start on a quarter hour) it folds the calls with an event started in
// the period.
func (s *Store) CallsByStatus(ctx context.Context, p Period) ([]StatusCount, error) {
	if !quarterHourDays(p) {
		return s.callsByStatus(ctx, p, callsByStatusSQL)
	}
	head, chain, ok, err := factsSnapshot(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.callsByStatus(ctx, p, callsByStatusSQL)
	}
	start, end := p.bounds()
	counts := map[string]int64{}
	var changed []changedCall
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		rows, err := s.conn.Query(gctx, rollupStatusSQL, clickhouse.Named("epoch", head.epoch),
			clickhouse.Named("chain", chain.ids()), clickhouse.Named("start", start), clickhouse.Named("end", end))
		if err != nil {
			return fmt.Errorf("query calls by status of the snapshot: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var n int64
			if err := rows.Scan(&st, &n); err != nil {
				return fmt.Errorf("scan calls by status of the snapshot: %w", err)
			}
			counts[st] += n
		}
		return rows.Err()
	})
	// A call's status needs no category: the calls with events since the
	// snapshot, folded as of its cutoff and now, are all that changed
	// (a re-grade moves calls between categories, not statuses).
	g.Go(func() (err error) {
		changed, err = foldChanges(gctx, s.conn, head.cutoff, time.Time{}, "UTC", false)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, c := range changed {
		for _, side := range []struct {
			f    foldSide
			sign int64
		}{{c.old, -1}, {c.new, 1}} {
			// Period bounds are whole quarter hours (quarterHourDays), so a
			// start in the period is a rollup bucket in it.
			if side.f.counted() && !side.f.started.Before(start) && side.f.started.Before(end) {
				counts[side.f.viewStatus().String()] += side.sign
			}
		}
	}
	var out []StatusCount
	for st, n := range counts {
		if n < 0 {
			return nil, fmt.Errorf("calls by status: %d %s calls: rollup and changes disagree", n, st)
		}
		if n > 0 {
			out = append(out, StatusCount{Status: st, Calls: uint64(n)})
		}
	}
	slices.SortFunc(out, func(a, b StatusCount) int { return cmp.Compare(a.Status, b.Status) })
	return out, nil
}

func (s *Store) callsByStatus(ctx context.Context, p Period, q string) ([]StatusCount, error) {
	start, end := p.bounds()
	rows, err := s.conn.Query(ctx, q, clickhouse.Named("start", start), clickhouse.Named("end", end))
	if err != nil {
		return nil, fmt.Errorf("query calls by status: %w", err)
	}
	defer rows.Close()
	var out []StatusCount
	for rows.Next() {
		var c StatusCount
		if err := rows.Scan(&c.Status, &c.Calls); err != nil {
			return nil, fmt.Errorf("scan calls by status: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
