package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/callpulse/callpulse/backoff"
)

// ParseSchedule reads a standard five-field cron expression (minute hour
// day-of-month month day-of-week) or a descriptor such as @daily. Times are
// in the zone the Scheduler is given.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("report schedule %q: %w", spec, err)
	}
	return s, nil
}

// SchedulerOptions configure a Scheduler.
type SchedulerOptions struct {
	// Schedule says when to send; each run reports the calendar day
	// before the one it runs on. Required.
	Schedule cron.Schedule
	// Location is the zone of the schedule and of the days (required).
	Location *time.Location
	// CatchUp is how far back start-up looks for a scheduled run that did
	// not happen (default 7 days). Only the latest one is made up.
	CatchUp time.Duration
	// RetryFor is how long a run keeps retrying recipients that failed
	// (default 3 h); Backoff spaces the retries (default 1 min doubling to
	// 15 min, jittered).
	RetryFor time.Duration
	Backoff  backoff.Policy
	// Now is the clock of the catch-up; nil means time.Now. Scheduled runs
	// fire on the real clock.
	Now    func() time.Time
	Logger *slog.Logger
	// OnRun, if set, is called after every run with its day and results.
	OnRun func(day time.Time, results []Result)
}

// Scheduler sends the report on a cron schedule and makes up a run missed
// while the daemon was down.
type Scheduler struct {
	svc *Service
	o   SchedulerOptions
	mu  sync.Mutex // one run at a time
}

// NewScheduler checks the options and returns a Scheduler.
func NewScheduler(svc *Service, o SchedulerOptions) (*Scheduler, error) {
	if svc == nil || o.Schedule == nil || o.Location == nil {
		return nil, errors.New("report scheduler: service, schedule and location are required")
	}
	if o.CatchUp <= 0 {
		o.CatchUp = 7 * 24 * time.Hour
	}
	if o.RetryFor <= 0 {
		o.RetryFor = 3 * time.Hour
	}
	if o.Backoff == (backoff.Policy{}) {
		o.Backoff = backoff.Policy{Base: time.Minute, Max: 15 * time.Minute}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{svc: svc, o: o}, nil
}

// Run sends reports until ctx is done, then waits for a run in progress to
// stop and returns nil. On start it loads the last-success gauge and, if
// the latest scheduled time within CatchUp has passed, runs it at once:
// the ledger makes that a no-op when the report went out.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.svc.LoadLastSuccess(ctx); err != nil {
		s.o.Logger.Warn("read last report delivery", "err", err)
	}
	var wg sync.WaitGroup
	if last, ok := LastFire(s.o.Schedule, s.o.Now().In(s.o.Location), s.o.CatchUp); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.o.Logger.Info("making up the latest scheduled report run", "scheduled", last)
			s.Fire(ctx, last)
		}()
	}
	logger := cronLogger{s.o.Logger}
	c := cron.New(cron.WithLocation(s.o.Location), cron.WithLogger(logger), cron.WithChain(cron.Recover(logger)))
	c.Schedule(s.o.Schedule, cron.FuncJob(func() { s.Fire(ctx, time.Now().In(s.o.Location)) }))
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	wg.Wait()
	return nil
}

// Fire runs the report due at time at (the day before at's date),
// retrying failed recipients until RetryFor has passed or ctx is done.
// Runs are serialised.
func (s *Scheduler) Fire(ctx context.Context, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at = at.In(s.o.Location)
	day := time.Date(at.Year(), at.Month(), at.Day()-1, 12, 0, 0, 0, s.o.Location)
	deadline := time.Now().Add(s.o.RetryFor)
	b := backoff.New(s.o.Backoff)
	var to []string // nil: every configured recipient
	for {
		results, err := s.svc.Run(ctx, day, RunOptions{To: to})
		if s.o.OnRun != nil {
			s.o.OnRun(day, results)
		}
		if err == nil || ctx.Err() != nil {
			return
		}
		to = to[:0]
		for _, r := range results {
			if r.Result == ResultFailed {
				to = append(to, r.Recipient)
			}
		}
		if len(to) == 0 || time.Now().After(deadline) {
			s.o.Logger.Error("report run failed", "day", day.Format(time.DateOnly), "err", err)
			return
		}
		s.o.Logger.Warn("report run failed for some recipients, will retry", "day", day.Format(time.DateOnly),
			"failed", len(to), "err", err)
		if b.Wait(ctx) != nil {
			return
		}
	}
}

// LastFire is the latest time the schedule fired at or before now, looking
// back at most within; false if none.
func LastFire(s cron.Schedule, now time.Time, within time.Duration) (time.Time, bool) {
	const maxSteps = 100000 // an every-minute schedule over 7 days is ~10 000
	var last time.Time
	t := now.Add(-within)
	for range maxSteps {
		next := s.Next(t)
		if next.IsZero() || next.After(now) {
			break
		}
		last, t = next, next
	}
	return last, !last.IsZero()
}

// cronLogger sends the cron library's messages to slog.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
