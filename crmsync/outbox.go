package crmsync

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Outbox is the CRM pusher: the spool sink that folds call events into a
// durable outbox (Write), the workers that push calls, tasks and recordings
// to each CRM target (Run), and the dead-letter API (DeadLetters, Retry).
type Outbox struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	store   *store
	targets []*target
	running atomic.Bool

	// onAttempt, if set (by tests), is called after each attempt's outcome
	// is durable.
	onAttempt func(j job, err error)
}

// target is a Target with its token bucket and wake-up channel.
type target struct {
	name    string
	pusher  Pusher
	users   map[string]string
	workers int
	batch   int           // calls per push: BatchPusher.MaxBatch, else 1
	wake    chan struct{} // capacity 1
}

// New opens (or creates) the outbox database at opts.Path. Close it after
// Run has returned and the spool consumer has stopped.
func New(opts Options) (*Outbox, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o750); err != nil {
		return nil, fmt.Errorf("create CRM outbox directory: %w", err)
	}
	st, err := openStore(opts.Path, 5*time.Second)
	if err != nil {
		return nil, err
	}
	o := &Outbox{opts: opts, log: opts.Logger, metrics: opts.Metrics, store: st}
	for _, t := range opts.Targets {
		name := t.Pusher.Name()
		batch := 1
		if bp, ok := t.Pusher.(BatchPusher); ok && bp.MaxBatch() > 1 {
			batch = bp.MaxBatch()
		}
		o.targets = append(o.targets, &target{batch: batch,
			name: name, pusher: t.Pusher, users: t.Users, workers: t.Workers,
			wake: make(chan struct{}, 1),
		})
		o.metrics.initCRM(name)
	}
	o.refreshGauges()
	return o, nil
}

// Pushes reports whether the outbox has CRM targets to push to; without
// any it only keeps pull watermarks and needs neither Write nor Run.
func (o *Outbox) Pushes() bool { return len(o.targets) > 0 }

// Close closes the outbox database.
func (o *Outbox) Close() error {
	if err := o.store.close(); err != nil {
		return fmt.Errorf("close CRM outbox: %w", err)
	}
	return nil
}

func (o *Outbox) wakeAll() {
	for _, t := range o.targets {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

func (o *Outbox) refreshGauges() {
	pending, dead, err := o.store.counts()
	if err != nil {
		o.log.Warn("count CRM jobs", "err", err)
		return
	}
	for _, t := range o.targets {
		o.metrics.pending.WithLabelValues(t.name).Set(float64(pending[t.name]))
		o.metrics.dead.WithLabelValues(t.name).Set(float64(dead[t.name]))
	}
}

// Pending returns the number of jobs waiting in the outbox, over all CRMs.
func (o *Outbox) Pending() (int, error) {
	pending, _, err := o.store.counts()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range pending {
		n += v
	}
	return n, nil
}
