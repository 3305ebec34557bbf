package scoring

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Crossing is an open lead whose score rose to the threshold.
type Crossing struct {
	// Phone and LeadID identify the lead as in Lead: the E.164 phone (empty
	// for a lead known only by its lead id) and the lead id its newest
	// touch naming one gave.
	Phone  string
	LeadID string
	// ScoreBefore is the score as of the since time, Score the score now;
	// ScoreBefore < Threshold ≤ Score.
	ScoreBefore int64
	Score       int64
	Threshold   float64
	LastTouchAt time.Time
}

// Crossed returns the open leads whose score as of since was below the
// threshold of now and whose score now is at or above it, hottest first
// (as in the queue). Both scores follow the same rules (points table,
// OncePerAction, decay). A lead whose score did not change is not
// reported, even when a recalibration moved the threshold below it: a
// consumer that must act on those compares Queue with the threshold it saw
// last. A lead can cross again after decay has taken it back under the
// threshold.
//
// The daemon calls it every metrics refresh interval with the start of
// its previous scan and queues a move of each lead to the CRMs' configured
// stage (crmsync.Outbox.EnqueueHotLeads): by LeadID when set, else by
// Phone.
func (s *Scorer) Crossed(ctx context.Context, since time.Time) ([]Crossing, error) {
	now := s.now().UTC().Truncate(time.Second)
	before := since.UTC().Truncate(time.Second)
	var out []Crossing
	kept, err := s.useBook(ctx, func(bs *bookScorer) {
		out = bs.crossed(now.Unix(), before.Unix(), s.bookThreshold(bs, now).Value)
	})
	if err != nil || kept {
		return out, err
	}
	th, err := s.Threshold(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, crossedSQL, s.params(
		clickhouse.Named("now", now),
		clickhouse.Named("before", before),
		clickhouse.Named("threshold", th.Value),
	)...)
	if err != nil {
		return nil, fmt.Errorf("query threshold crossings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c := Crossing{Threshold: th.Value}
		var ref string
		if err := rows.Scan(&c.Phone, &ref, &c.LeadID, &c.Score, &c.ScoreBefore, &c.LastTouchAt); err != nil {
			return nil, fmt.Errorf("scan threshold crossing: %w", err)
		}
		c.LastTouchAt = c.LastTouchAt.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read threshold crossings: %w", err)
	}
	return out, nil
}
