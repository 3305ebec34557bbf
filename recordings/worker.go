package recordings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/callpulse/callpulse/backoff"
)

// errStoreFailed wraps job store failures, which stop Run.
var errStoreFailed = errors.New("recording job store failed")

// Run fetches due jobs, at most Options.Workers at a time, until ctx is
// done; it then cancels the attempts in progress (their jobs stay as they
// were), waits for them and returns nil. It sleeps until the next job is
// due or Write adds one. Each attempt ends in one of:
//
//   - stored: the file is in the blob directory and its row in the catalog;
//     only then is the job deleted.
//   - skipped: the call already has a recording; the job is deleted.
//   - retry (not ready, or a transient failure): the job is rescheduled with
//     jittered exponential backoff (Options.Retry, or the server's
//     Retry-After if longer), but never past its due time + GiveUpAfter;
//     an attempt failing at or after that deadline makes it dead (gave_up).
//   - dead: the job moves to the dead jobs with its reason; it is never
//     retried, and re-delivered events do not revive it.
//
// Run returns an error only if the job store fails. It must not be called
// again before it has returned.
func (s *Store) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("recordings: Run is already running")
	}
	defer s.running.Store(false)

	type result struct {
		key string
		err error
	}
	workers := s.opts.Workers
	busy := make(map[string]bool, workers)
	done := make(chan result, workers) // never blocks a worker: at most `workers` run
	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel() // runs before wg.Wait

	for {
		jobs, next, err := s.jobs.due(s.opts.Now(), workers-len(busy), busy)
		if err != nil {
			return fmt.Errorf("%w: %w", errStoreFailed, err)
		}
		for _, j := range jobs {
			busy[j.key] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				done <- result{j.key, s.attempt(wctx, j)}
			}()
		}
		var timer <-chan time.Time
		if !next.IsZero() && len(busy) < workers {
			timer = s.opts.After(next.Sub(s.opts.Now()))
		}
		select {
		case <-ctx.Done():
			return nil
		case r := <-done:
			delete(busy, r.key)
			if r.err != nil {
				return fmt.Errorf("%w: %w", errStoreFailed, r.err)
			}
		case <-s.wake:
		case <-timer:
		}
	}
}

// attempt makes one attempt at j and records the outcome in the job store.
// It returns an error only if the job store fails.
func (s *Store) attempt(ctx context.Context, j job) error {
	start := time.Now()
	o := s.fetch(ctx, j)
	switch o.kind {
	case outcomeAborted:
		return nil
	case outcomeSkipped: // no download was tried
	default:
		s.metrics.duration.Observe(time.Since(start).Seconds())
	}
	j.Attempts++
	err := s.settle(j, o)
	if err == nil {
		err = s.updateGauges()
	}
	if s.onAttempt != nil {
		s.onAttempt(j.key, o)
	}
	return err
}

// settle applies an attempt's outcome to the job store, metrics and log.
func (s *Store) settle(j job, o outcome) error {
	log := s.log.With(slog.String("provider", j.Event.Provider), slog.String("call_id", j.Event.CallID),
		slog.Int("attempts", j.Attempts))
	if j.Event.RecordingURL != "" {
		log = log.With(slog.String("host", urlHost(j.Event.RecordingURL)))
	}
	switch o.kind {
	case outcomeStored:
		if err := s.jobs.remove(j.key); err != nil {
			return err
		}
		s.metrics.fetched.Inc()
		s.metrics.bytes.Add(float64(o.rec.Bytes))
		log.Info("stored recording", "bytes", o.rec.Bytes, "content_type", o.rec.ContentType, "sha256", o.rec.SHA256)
		return nil
	case outcomeSkipped:
		log.Debug("call already has a recording; job dropped")
		return s.jobs.remove(j.key)
	case outcomeRetry:
		now := s.opts.Now()
		deadline := j.Due.Add(s.opts.GiveUpAfter)
		if !now.Before(deadline) {
			return s.bury(log, j, dead(ReasonGaveUp, fmt.Errorf("still failing %v after due: %w", s.opts.GiveUpAfter, o.err)))
		}
		j.NextAt = now.Add(s.retryDelay(j.Attempts, o.retryAfter))
		if j.NextAt.After(deadline) {
			j.NextAt = deadline // one last attempt at the deadline
		}
		j.LastError = o.err.Error()
		s.metrics.retries.WithLabelValues(o.reason).Inc()
		level := slog.LevelWarn
		if o.reason == retryNotReady {
			level = slog.LevelDebug
		}
		log.Log(context.Background(), level, "recording fetch will be retried",
			"reason", o.reason, "next_at", j.NextAt, "err", o.err)
		return s.jobs.reschedule(j)
	case outcomeDead:
		return s.bury(log, j, o)
	}
	return fmt.Errorf("settle recording job: unexpected outcome %d", o.kind)
}

func (s *Store) bury(log *slog.Logger, j job, o outcome) error {
	j.LastError = o.err.Error()
	if err := s.jobs.bury(deadJob{job: j, Reason: o.reason, DiedAt: s.opts.Now()}); err != nil {
		return err
	}
	s.metrics.failed.WithLabelValues(o.reason).Inc()
	log.Warn("recording fetch failed permanently", "reason", o.reason, "err", o.err)
	return nil
}

// retryDelay is the backoff after the given number of failed attempts: the
// delay a backoff.Backoff returns after that many failures.
func (s *Store) retryDelay(attempts int, retryAfter time.Duration) time.Duration {
	b := backoff.New(s.opts.Retry)
	var d time.Duration
	for range min(attempts, 64) { // the ceiling reaches Max long before 64
		d = b.Next(retryAfter)
	}
	return d
}
