package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
)

// bucketSeconds is the width of a rollup bucket. Every time zone in use
// has an offset that is a whole number of quarter hours, so a calendar day
// anywhere is a whole number of buckets.
const bucketSeconds = 900

// talkDelta is a signed share of one call in talk time: +1 call and its
// seconds where a snapshot counts it, −1 and minus its seconds where the
// earlier snapshot counted it.
type talkDelta struct {
	bucket   time.Time // start of the quarter hour of the call's start (UTC)
	day      time.Time // calendar day of bucket in the zone asked for
	manager  string
	category client.Category
	seconds  int64
	calls    int64
}

// foldSide is a call folded from some of its events: what talk time needs.
type foldSide struct {
	started, answered, ended time.Time
	status                   call.Status
	reported                 uint32
	manager, phone           string
	day                      time.Time
}

// counted reports whether the call counts in talk time: answered (by
// status or an answer time) and with a known start, as the calls view and
// call.Fold decide.
func (f foldSide) counted() bool {
	return !f.started.IsZero() && (!f.answered.IsZero() || f.status == call.StatusAnswered)
}

// talk is the call's talk seconds by call.Talk, the calls view's rule.
func (f foldSide) talk() uint32 {
	st := f.status
	if !f.answered.IsZero() {
		st = call.StatusAnswered
	}
	return call.Talk(st, f.answered, f.ended, f.reported)
}

// talkChanges returns, for every call whose talk-time share may differ
// between the snapshot as of from and the one as of to (zero: everything
// stored now), its share in the earlier snapshot with a minus sign and its
// share in the later one, in that order; a call whose share did not change
// gives nothing. Shares carry the day of their bucket in zone tz.
//
// A snapshot "as of T" counts the events and grade-history rows that
// reached ClickHouse before T (their `at`): the calls touched between the
// two are those with events or phone history whose `at` lies in [from,
// to). Both folds of a call come from one read of its calls_agg rows.
func talkChanges(ctx context.Context, conn driver.Conn, from, to time.Time, tz string) ([]talkDelta, error) {
	cond := ""
	args := []any{clickhouse.Named("from", from), clickhouse.Named("tz", tz)}
	if !to.IsZero() {
		cond = "AND at < @to"
		args = append(args, clickhouse.Named("to", to))
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(changedCallsSQL, cond), args...)
	if err != nil {
		return nil, fmt.Errorf("query calls changed since %s: %w", from.UTC().Format(time.DateTime), err)
	}
	defer rows.Close()
	type changed struct{ old, new foldSide }
	var calls []changed
	phones := map[string]struct{}{}
	for rows.Next() {
		var c changed
		var provider, callID string
		var oStatus, nStatus uint8
		if err := rows.Scan(&provider, &callID,
			&c.old.started, &c.old.answered, &c.old.ended, &oStatus, &c.old.reported, &c.old.manager, &c.old.phone, &c.old.day,
			&c.new.started, &c.new.answered, &c.new.ended, &nStatus, &c.new.reported, &c.new.manager, &c.new.phone, &c.new.day,
		); err != nil {
			return nil, fmt.Errorf("scan changed call: %w", err)
		}
		c.old.status, c.new.status = call.Status(oStatus), call.Status(nStatus)
		for _, f := range []*foldSide{&c.old, &c.new} {
			f.started, f.answered, f.ended = unknownZero(f.started), unknownZero(f.answered), unknownZero(f.ended)
			if f.counted() && f.phone != "" {
				phones[f.phone] = struct{}{}
			}
		}
		calls = append(calls, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changed calls: %w", err)
	}
	hist, err := phoneHistories(ctx, conn, phones)
	if err != nil {
		return nil, err
	}
	var out []talkDelta
	for _, c := range calls {
		var o, n talkDelta
		oc, nc := c.old.counted(), c.new.counted()
		if oc {
			o = share(c.old, hist[c.old.phone].categoryAt(c.old.started, from), -1)
		}
		if nc {
			n = share(c.new, hist[c.new.phone].categoryAt(c.new.started, to), 1)
		}
		if oc && nc && o.bucket.Equal(n.bucket) && o.manager == n.manager && o.category == n.category && o.seconds == -n.seconds {
			continue
		}
		if oc {
			out = append(out, o)
		}
		if nc {
			out = append(out, n)
		}
	}
	return out, nil
}

func share(f foldSide, cat client.Category, sign int64) talkDelta {
	return talkDelta{
		bucket:   time.Unix(f.started.Unix()/bucketSeconds*bucketSeconds, 0).UTC(),
		day:      f.day,
		manager:  f.manager,
		category: cat,
		seconds:  sign * int64(f.talk()),
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
	out := map[string]gradeHistory{}
	if len(phones) == 0 {
		return out, nil
	}
	set := make([]any, 0, len(phones))
	for p := range phones {
		set = append(set, p)
	}
	slices.SortFunc(set, func(a, b any) int { return cmp.Compare(a.(string), b.(string)) })
	rows, err := conn.Query(ctx, phoneHistorySQL, clickhouse.Named("phones", clickhouse.GroupSet{Value: set}))
	if err != nil {
		return nil, fmt.Errorf("query grade history of %d phones: %w", len(phones), err)
	}
	defer rows.Close()
	for rows.Next() {
		var phone, cat string
		var r gradeRow
		if err := rows.Scan(&phone, &r.validFrom, &cat, &r.recordedAt, &r.at); err != nil {
			return nil, fmt.Errorf("scan grade history: %w", err)
		}
		r.category = client.Category(cat)
		out[phone] = append(out[phone], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read grade history: %w", err)
	}
	return out, nil
}
