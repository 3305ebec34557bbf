package warehouse

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/spool"
)

// EventWriter is the spool sink that inserts call events into call_events.
// A batch is one INSERT; the consumer commits its cursor only after Write
// returns nil, and a replayed batch is harmless because the calls view folds
// events idempotently. An arrival-time end (call.Event.ArrivalEnd) goes to
// arrival_ended_at, every other end to ended_at (migration 0010).
type EventWriter struct {
	db           *DB
	sourceByLine map[string]string
	metrics      *Metrics
	log          *slog.Logger
}

// NewEventWriter returns a sink for call events. sourceByLine maps our line
// numbers (E.164) to ad sources; the source is stamped on each event when it
// is written, so re-assigning a tracking number later keeps history.
func NewEventWriter(db *DB, sourceByLine map[string]string, m *Metrics, log *slog.Logger) *EventWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EventWriter{db: db, sourceByLine: sourceByLine, metrics: m, log: log}
}

const insertEvents = `INSERT INTO call_events (provider, call_id, event_key, received_at, direction,
	started_at, answered_at, ended_at, arrival_ended_at, client_phone, line_phone, line_source, manager,
	manager_rank, status, talk_seconds, recording_url, recording_ref, spool_seq)`

// Write inserts the records' events as one batch.
func (w *EventWriter) Write(ctx context.Context, recs []spool.Record) error {
	ctx, cancel := w.db.queryContext(ctx)
	defer cancel()
	batch, err := w.db.conn.PrepareBatch(ctx, insertEvents)
	if err != nil {
		w.metrics.errors.WithLabelValues("insert").Inc()
		return fmt.Errorf("prepare call_events batch: %w", err)
	}
	defer batch.Abort()
	rows := 0
	for _, r := range recs {
		e, err := call.Unmarshal(r.Data)
		if err != nil {
			// The spool only holds what ingest encoded, so this is a bug or
			// disk corruption the CRC missed; retrying cannot fix it.
			w.metrics.undecodable.Inc()
			w.log.Error("skip undecodable spool record", "seq", r.Seq, "err", err)
			continue
		}
		ended, arrivalEnded := e.EndedAt, time.Time{}
		if e.ArrivalEnd {
			ended, arrivalEnded = arrivalEnded, ended
		}
		if err := batch.Append(
			e.Provider, e.CallID, e.DedupKey(), ts(e.ReceivedAt), e.Direction.String(),
			ts(e.StartedAt), ts(e.AnsweredAt), ts(ended), ts(arrivalEnded), e.ClientPhone, e.LinePhone,
			w.sourceByLine[e.LinePhone], e.Manager, e.ManagerRank,
			e.Status.String(), e.TalkSeconds, e.RecordingURL, e.RecordingRef, r.Seq,
		); err != nil {
			w.metrics.errors.WithLabelValues("insert").Inc()
			return fmt.Errorf("append event seq %d to batch: %w", r.Seq, err)
		}
		rows++
	}
	if rows == 0 {
		return nil
	}
	start := time.Now()
	if err := batch.Send(); err != nil {
		w.metrics.errors.WithLabelValues("insert").Inc()
		return fmt.Errorf("insert %d call events: %w", rows, err)
	}
	w.metrics.insertDuration.Observe(time.Since(start).Seconds())
	w.metrics.rowsWritten.WithLabelValues("call_events").Add(float64(rows))
	return nil
}

// ts maps the zero time ("unknown") to the Unix epoch, ClickHouse's zero
// DateTime, which the calls view reads as unknown.
func ts(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}
