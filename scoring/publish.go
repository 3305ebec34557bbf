package scoring

import (
	"context"
	"fmt"
	"time"
)

// publishSQL inserts the rows of one publication (migration 0019).
const publishSQL = `INSERT INTO lead_queue (published, published_at, rank, phone, lead_id, name, grade, source, manager,
	score, last_touch_at, above, threshold)`

// Publish writes the call queue as of now into lead_queue, for the
// dashboards: up to MaxQueueLimit open leads, hottest first, those under
// the threshold included (Queue with all), as rank 1 onwards, and a rank 0
// marker carrying the threshold, so that an empty queue is published too.
// A publication is told by the wall-clock time it was written (published,
// in nanoseconds: the newest wins, whatever the scorer's clock says);
// published_at is the time the queue is as of.
//
// The daemons publish every metrics.refresh_interval (Gauges.Run; one of
// several daemons sharing a ClickHouse skips a round another published
// in), so that Grafana shows the queue callpulse.yml's scoring gives, in
// milliseconds, instead of scoring every touch in SQL itself. They must
// share their scoring settings, and their clocks must agree.
func (s *Scorer) Publish(ctx context.Context) error {
	asOf := s.now().UTC().Truncate(time.Second)
	q, _, err := s.queueAt(ctx, asOf, MaxQueueLimit, true, false)
	if err != nil {
		return err
	}
	return s.publish(ctx, asOf, q)
}

// publish writes q, the queue as of asOf, as a publication.
func (s *Scorer) publish(ctx context.Context, asOf time.Time, q Queue) error {
	published := uint64(time.Now().UnixNano())
	batch, err := s.conn.PrepareBatch(ctx, publishSQL)
	if err != nil {
		return fmt.Errorf("prepare the queue's publication: %w", err)
	}
	defer batch.Abort()
	epoch := time.Unix(0, 0).UTC()
	if err := batch.Append(published, asOf, uint32(0), "", "", "", "", "", "", int64(0), epoch, uint8(0),
		q.Threshold.Value); err != nil {
		return fmt.Errorf("append the queue's publication marker: %w", err)
	}
	for i, l := range q.Leads {
		if err := batch.Append(published, asOf, uint32(i+1), l.Phone, l.LeadID, l.Name, string(l.Category), l.Source,
			l.Manager, l.Score, l.LastTouchAt, boolInt(l.AboveThreshold), q.Threshold.Value); err != nil {
			return fmt.Errorf("append a lead to the queue's publication: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("publish the queue (%d leads): %w", len(q.Leads), err)
	}
	return nil
}

// LastPublished is the wall-clock time of the newest publication in
// lead_queue, by whichever daemon; zero if there is none.
func (s *Scorer) LastPublished(ctx context.Context) (time.Time, error) {
	var ns uint64
	if err := s.conn.QueryRow(ctx, "SELECT max(published) FROM lead_queue").Scan(&ns); err != nil {
		return time.Time{}, fmt.Errorf("read the newest publication of the queue: %w", err)
	}
	if ns == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, int64(ns)), nil
}
