package scoring

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/internal/chset"
)

// MaxQueueLimit bounds the leads of one queue request.
const MaxQueueLimit = 1000

// Lead is an open lead in the call queue.
type Lead struct {
	// Phone is the lead's E.164 number; empty for a lead known only by a
	// lead_id that names no deal.
	Phone string
	// LeadID is the lead_id that the newest touch naming one gave (for a
	// lead without a phone, the id that identifies it); empty if none did.
	LeadID string
	// Name and Category are the client's, from the clients import or CRM;
	// empty and unknown when it is not a client yet.
	Name     string
	Category client.Category
	// Source is the ad source: the client's source, else that of its
	// earliest deal with one, else the line source of its earliest call on
	// a line with one, else the utm_source of its earliest touch with one,
	// else "unknown".
	Source string
	// Manager is the responsible manager as stored (a PBX extension or a
	// manager id): the client's, else that of its newest deal with one;
	// empty if neither is known.
	Manager string
	// Score is the lead's score now; LastTouchAt its latest touch.
	Score       int64
	LastTouchAt time.Time
	// AboveThreshold is Score ≥ the queue's threshold.
	AboveThreshold bool
}

// Queue is the call queue at one moment.
type Queue struct {
	Threshold Threshold
	// Leads are sorted by score, descending, then by last touch, newest
	// first (then by phone and lead id, for a stable order).
	Leads []Lead
}

// Queue lists up to limit (1 to MaxQueueLimit) open leads with a touch at
// or before now, by score, descending, then by last touch, newest first.
// Leads under the threshold are left out unless all is true.
//
// The queue is the first limit leads in score order, cut at the
// threshold, which are those of the limit hottest leads that reach it.
// Both come from the scorer's book of the touches (book.go), or, on
// replicated tables, from SQL. The leads' line sources come from the
// phone rollup (analytics.Phones).
func (s *Scorer) Queue(ctx context.Context, limit int, all bool) (Queue, error) {
	q, _, err := s.queueAt(ctx, s.now().UTC().Truncate(time.Second), limit, all, false)
	return q, err
}

// queueAt is Queue as of now and, with count, AboveThreshold's count at
// its threshold (of every open lead, not only the limit hottest), from the
// same look at the book and the same scores.
func (s *Scorer) queueAt(ctx context.Context, now time.Time, limit int, all, count bool) (Queue, uint64, error) {
	if err := checkLimit(limit); err != nil {
		return Queue{}, 0, err
	}
	var q Queue
	var utm []string
	var above uint64
	kept, err := s.useBook(ctx, func(bs *bookScorer) {
		sc := bs.scoresAt(now.Unix())
		q.Threshold = s.bookThreshold(bs, now)
		q.Leads, utm = bs.top(sc, now.Unix(), limit)
		if count {
			above = bs.above(sc, q.Threshold.Value)
		}
	})
	if err != nil {
		return Queue{}, 0, err
	}
	if !kept {
		if q, utm, err = s.sqlQueue(ctx, now, limit); err != nil {
			return Queue{}, 0, err
		}
		if count {
			if above, err = s.aboveAt(ctx, now, q.Threshold.Value); err != nil {
				return Queue{}, 0, err
			}
		}
	}
	if !all {
		n := 0
		for n < len(q.Leads) && float64(q.Leads[n].Score) >= q.Threshold.Value {
			n++
		}
		q.Leads, utm = q.Leads[:n], utm[:n]
	}
	if err := s.describe(ctx, q, utm, s.lines.FirstLineSources); err != nil {
		return Queue{}, 0, err
	}
	return q, above, nil
}

// sqlQueue is the threshold and the limit hottest leads as of now, in
// queue order, with the leads' utm sources, computed in SQL: the two are
// independent reads and run side by side.
func (s *Scorer) sqlQueue(ctx context.Context, now time.Time, limit int) (Queue, []string, error) {
	var q Queue
	var utm []string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		q.Threshold, err = s.threshold(gctx, s.fast.threshold)
		return err
	})
	g.Go(func() (err error) {
		q.Leads, utm, err = s.topLeads(gctx, now, limit)
		return err
	})
	if err := g.Wait(); err != nil {
		return Queue{}, nil, err
	}
	return q, utm, nil
}

// QueueRaw is Queue computed the straightforward way, the line sources
// folded from the calls view: the reference Queue is tested against and
// the baseline of `make bench`; slow on large data.
func (s *Scorer) QueueRaw(ctx context.Context, limit int, all bool) (Queue, error) {
	if err := checkLimit(limit); err != nil {
		return Queue{}, err
	}
	th, err := s.ThresholdRaw(ctx)
	if err != nil {
		return Queue{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	q := Queue{Threshold: th}
	var utm []string
	q.Leads, utm, err = s.queryLeads(ctx, "call queue (raw)", queueRawSQL,
		clickhouse.Named("now", now),
		clickhouse.Named("before", now),
		clickhouse.Named("threshold", th.Value),
		clickhouse.Named("all", boolInt(all)),
		clickhouse.Named("limit", uint64(limit)))
	if err != nil {
		return Queue{}, err
	}
	if err := s.describe(ctx, q, utm, s.lines.FirstLineSourcesRaw); err != nil {
		return Queue{}, err
	}
	return q, nil
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxQueueLimit {
		return fmt.Errorf("call queue: limit %d, want 1 to %d", limit, MaxQueueLimit)
	}
	return nil
}

// topLeads returns the limit hottest open leads as of now, in the queue's
// order, without their AboveThreshold, and their utm sources.
func (s *Scorer) topLeads(ctx context.Context, now time.Time, limit int) ([]Lead, []string, error) {
	rows, err := s.conn.Query(ctx, s.fast.topLeads, s.params(clickhouse.Named("now", now),
		clickhouse.Named("limit", uint64(limit)))...)
	if err != nil {
		return nil, nil, fmt.Errorf("query call queue: %w", err)
	}
	defer rows.Close()
	leads, utm := []Lead{}, []string{}
	for rows.Next() {
		var l Lead
		var ref, u string
		if err := rows.Scan(&l.Phone, &ref, &l.Score, &l.LastTouchAt, &l.LeadID, &u); err != nil {
			return nil, nil, fmt.Errorf("scan call queue: %w", err)
		}
		l.LastTouchAt = l.LastTouchAt.UTC()
		leads, utm = append(leads, l), append(utm, u)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read call queue: %w", err)
	}
	return leads, utm, nil
}

// queryLeads runs a query of (lead_phone, lead_ref, lead_id, score,
// last_touch_at, utm_source) rows and returns the leads, without their
// AboveThreshold, and the utm sources.
func (s *Scorer) queryLeads(ctx context.Context, what, q string, args ...any) ([]Lead, []string, error) {
	rows, err := s.conn.Query(ctx, q, s.params(args...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", what, err)
	}
	defer rows.Close()
	leads := []Lead{}
	var utm []string
	for rows.Next() {
		var l Lead
		var ref, source string
		if err := rows.Scan(&l.Phone, &ref, &l.LeadID, &l.Score, &l.LastTouchAt, &source); err != nil {
			return nil, nil, fmt.Errorf("scan %s: %w", what, err)
		}
		l.LastTouchAt = l.LastTouchAt.UTC()
		leads = append(leads, l)
		utm = append(utm, source)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", what, err)
	}
	return leads, utm, nil
}

// ThresholdAndAbove is Threshold and the count of AboveThreshold at it,
// from one look at the book (the lead gauges ask both every refresh).
func (s *Scorer) ThresholdAndAbove(ctx context.Context) (Threshold, uint64, error) {
	now := s.now().UTC().Truncate(time.Second)
	var th Threshold
	var n uint64
	kept, err := s.useBook(ctx, func(bs *bookScorer) {
		th = s.bookThreshold(bs, now)
		n = bs.above(bs.scoresAt(now.Unix()), th.Value)
	})
	if err != nil || kept {
		return th, n, err
	}
	if th, err = s.Threshold(ctx); err != nil {
		return th, 0, err
	}
	n, err = s.aboveAt(ctx, now, th.Value)
	return th, n, err
}

// AboveThreshold counts the open leads whose score now is at or above
// threshold.
func (s *Scorer) AboveThreshold(ctx context.Context, threshold float64) (uint64, error) {
	return s.aboveAt(ctx, s.now().UTC().Truncate(time.Second), threshold)
}

// aboveAt is AboveThreshold as of now.
func (s *Scorer) aboveAt(ctx context.Context, now time.Time, threshold float64) (uint64, error) {
	var n uint64
	kept, err := s.useBook(ctx, func(bs *bookScorer) { n = bs.above(bs.scoresAt(now.Unix()), threshold) })
	if err != nil || kept {
		return n, err
	}
	err = s.conn.QueryRow(ctx, aboveSQL, s.params(
		clickhouse.Named("now", now),
		clickhouse.Named("before", now),
		clickhouse.Named("threshold", threshold),
	)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count leads above the threshold: %w", err)
	}
	return n, nil
}

// details is what the warehouse knows of a lead's phone.
type details struct {
	name, category              string
	clientSource, clientManager string
	dealSource, dealManager     string
}

// describe fills in the name, grade, source and manager of q's leads, and
// whether each is above the threshold; utm[i] is the utm_source of
// leads[i]'s earliest touch with one, lineSources gives the line sources
// of phones.
func (s *Scorer) describe(ctx context.Context, q Queue, utm []string,
	lineSources func(context.Context, []string) (map[string]string, error)) error {
	var phones []string
	for _, l := range q.Leads {
		if l.Phone != "" {
			phones = append(phones, l.Phone)
		}
	}
	byPhone := map[string]details{}
	lines := map[string]string{}
	if len(phones) > 0 {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) {
			lines, err = lineSources(gctx, phones)
			return err
		})
		g.Go(func() error { return s.details(gctx, phones, byPhone) })
		if err := g.Wait(); err != nil {
			return err
		}
	}
	for i := range q.Leads {
		l := &q.Leads[i]
		d := byPhone[l.Phone]
		l.AboveThreshold = float64(l.Score) >= q.Threshold.Value
		l.Name = d.name
		l.Category = client.CategoryUnknown
		if c := client.Category(d.category); c.Known() {
			l.Category = c
		}
		l.Source = firstNonEmpty(d.clientSource, d.dealSource, lines[l.Phone], utm[i], "unknown")
		l.Manager = firstNonEmpty(d.clientManager, d.dealManager)
	}
	return nil
}

// details reads what the warehouse knows of phones into byPhone.
func (s *Scorer) details(ctx context.Context, phones []string, byPhone map[string]details) error {
	qctx, err := chset.With(ctx, queuePhonesTable, "value", slices.Values(phones))
	if err != nil {
		return err
	}
	rows, err := s.conn.Query(qctx, detailsSQL)
	if err != nil {
		return fmt.Errorf("query lead details: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var phone string
		var d details
		if err := rows.Scan(&phone, &d.name, &d.category, &d.clientSource, &d.clientManager,
			&d.dealSource, &d.dealManager); err != nil {
			return fmt.Errorf("scan lead details: %w", err)
		}
		byPhone[phone] = d
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read lead details: %w", err)
	}
	return nil
}

// queuePhonesTable is the external table of the phones a query asks
// about, of one String column "value" (chset: not literals in the query
// text, which ClickHouse 18.16 is slow to parse).
const queuePhonesTable = "queue_phones"

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func boolInt(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
