package scoring

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callpulse/callpulse/client"
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
func (s *Scorer) Queue(ctx context.Context, limit int, all bool) (Queue, error) {
	if limit < 1 || limit > MaxQueueLimit {
		return Queue{}, fmt.Errorf("call queue: limit %d, want 1 to %d", limit, MaxQueueLimit)
	}
	th, err := s.Threshold(ctx)
	if err != nil {
		return Queue{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	rows, err := s.conn.Query(ctx, queueSQL, s.params(
		clickhouse.Named("now", now),
		clickhouse.Named("before", now),
		clickhouse.Named("threshold", th.Value),
		clickhouse.Named("all", boolInt(all)),
		clickhouse.Named("limit", uint64(limit)),
	)...)
	if err != nil {
		return Queue{}, fmt.Errorf("query call queue: %w", err)
	}
	defer rows.Close()
	q := Queue{Threshold: th, Leads: []Lead{}}
	var utm []string
	for rows.Next() {
		var l Lead
		var ref, source string
		if err := rows.Scan(&l.Phone, &ref, &l.LeadID, &l.Score, &l.LastTouchAt, &source); err != nil {
			return Queue{}, fmt.Errorf("scan call queue: %w", err)
		}
		l.LastTouchAt = l.LastTouchAt.UTC()
		l.AboveThreshold = float64(l.Score) >= th.Value
		q.Leads = append(q.Leads, l)
		utm = append(utm, source)
	}
	if err := rows.Err(); err != nil {
		return Queue{}, fmt.Errorf("read call queue: %w", err)
	}
	if err := s.describe(ctx, q.Leads, utm); err != nil {
		return Queue{}, err
	}
	return q, nil
}

// AboveThreshold counts the open leads whose score now is at or above
// threshold.
func (s *Scorer) AboveThreshold(ctx context.Context, threshold float64) (uint64, error) {
	now := s.now().UTC().Truncate(time.Second)
	var n uint64
	err := s.conn.QueryRow(ctx, aboveSQL, s.params(
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
	lineSource                  string
}

// describe fills in the name, grade, source and manager of leads; utm[i]
// is the utm_source of leads[i]'s earliest touch with one.
func (s *Scorer) describe(ctx context.Context, leads []Lead, utm []string) error {
	var phones []string
	for _, l := range leads {
		if l.Phone != "" {
			phones = append(phones, l.Phone)
		}
	}
	byPhone := map[string]details{}
	if len(phones) > 0 {
		rows, err := s.conn.Query(ctx, detailsSQL, clickhouse.Named("phones", phones))
		if err != nil {
			return fmt.Errorf("query lead details: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var phone string
			var d details
			if err := rows.Scan(&phone, &d.name, &d.category, &d.clientSource, &d.clientManager,
				&d.dealSource, &d.dealManager, &d.lineSource); err != nil {
				return fmt.Errorf("scan lead details: %w", err)
			}
			byPhone[phone] = d
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read lead details: %w", err)
		}
	}
	for i := range leads {
		d := byPhone[leads[i].Phone]
		leads[i].Name = d.name
		leads[i].Category = client.CategoryUnknown
		if c := client.Category(d.category); c.Known() {
			leads[i].Category = c
		}
		leads[i].Source = firstNonEmpty(d.clientSource, d.dealSource, d.lineSource, utm[i], "unknown")
		leads[i].Manager = firstNonEmpty(d.clientManager, d.dealManager)
	}
	return nil
}

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
