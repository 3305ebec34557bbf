package scoring

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// HotLead is an open lead whose score is at or above the threshold.
type HotLead struct {
	// Phone and LeadID identify the lead as in Lead: the E.164 phone (empty
	// for a lead known only by its lead id) and the lead id its newest
	// touch naming one gave.
	Phone  string
	LeadID string
	// Score is the score now, Threshold ≤ Score; ScoreBefore the score as
	// of the since time Hot was given, by the touches' own times (0 for a
	// zero since, which skips computing it).
	ScoreBefore int64
	Score       int64
	Threshold   float64
	LastTouchAt time.Time
}

// Hot returns the open leads whose score now is at or above the threshold
// of now, hottest first (as in the queue), each with its score as of since
// as well: both follow the same rules (points table, OncePerAction,
// decay), counting the touches dated at or before each time.
//
// The daemon calls it every metrics refresh interval and hands the list to
// crmsync.Outbox.EnqueueHotLeads, which moves a lead to the CRMs'
// configured stage when it enters the list. Comparing lists rather than
// scores as of two times is what lets a touch that arrives late, dated
// before the previous scan, still move its lead. ScoreBefore, with since
// the previous scan's start, only seeds the outbox's list on the first
// scan after an upgrade from a version that kept none.
func (s *Scorer) Hot(ctx context.Context, since time.Time) ([]HotLead, error) {
	now := s.now().UTC().Truncate(time.Second)
	before := since.UTC().Truncate(time.Second)
	var out []HotLead
	kept, err := s.useBook(ctx, func(bs *bookScorer) {
		out = bs.hot(now.Unix(), before.Unix(), !since.IsZero(), s.bookThreshold(bs, now).Value)
	})
	if err != nil || kept {
		return out, err
	}
	th, err := s.Threshold(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, hotSQL, s.params(
		clickhouse.Named("now", now),
		clickhouse.Named("before", before),
		clickhouse.Named("threshold", th.Value),
	)...)
	if err != nil {
		return nil, fmt.Errorf("query hot leads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c := HotLead{Threshold: th.Value}
		var ref string
		if err := rows.Scan(&c.Phone, &ref, &c.LeadID, &c.Score, &c.ScoreBefore, &c.LastTouchAt); err != nil {
			return nil, fmt.Errorf("scan hot lead: %w", err)
		}
		c.LastTouchAt = c.LastTouchAt.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read hot leads: %w", err)
	}
	return out, nil
}
