package crmsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/deal"
)

// Warehouse stores pulled clients and deals. *warehouse.DB implements it.
type Warehouse interface {
	UpsertClients(ctx context.Context, clients []client.Client, origin string, at time.Time) error
	UpsertDeals(ctx context.Context, deals []deal.Deal, origin string, at time.Time) error
}

// Watermarks persists, per CRM, the time up to which it was pulled.
// *Outbox implements it.
type Watermarks interface {
	Watermark(crm string) (time.Time, error)
	SetWatermark(crm string, t time.Time) error
}

// SyncOptions configure a Syncer.
type SyncOptions struct {
	// Name is the CRM name: the warehouse origin of its rows and the key
	// of its watermark (lowercase letters, digits and _). Required.
	Name       string
	Puller     Puller     // required
	Warehouse  Warehouse  // required
	Watermarks Watermarks // required
	// Interval between pulls (default 15 minutes).
	Interval time.Duration
	// Initial is the first pull's since when there is no watermark yet;
	// zero pulls everything.
	Initial time.Time
	Metrics *Metrics     // nil counts without exporting
	Logger  *slog.Logger // nil discards
	Now     func() time.Time
	After   func(d time.Duration) <-chan time.Time
}

// Syncer pulls one CRM on a schedule, incrementally, into the warehouse.
type Syncer struct{ opts SyncOptions }

// NewSyncer checks opts and returns a Syncer.
func NewSyncer(opts SyncOptions) (*Syncer, error) {
	var errs []error
	if opts.Name == "" {
		errs = append(errs, errors.New("crmsync: sync name is required"))
	}
	if opts.Puller == nil || opts.Warehouse == nil || opts.Watermarks == nil {
		errs = append(errs, errors.New("crmsync: sync needs a puller, a warehouse and watermarks"))
	}
	if opts.Interval < 0 {
		errs = append(errs, fmt.Errorf("crmsync: sync interval %v must not be negative", opts.Interval))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.Interval == 0 {
		opts.Interval = 15 * time.Minute
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	return &Syncer{opts: opts}, nil
}

// Run pulls at once and then every Interval until ctx is done, and returns
// nil then. A failed pull is logged and counted and repeated at the next
// tick from the same watermark, so nothing is skipped.
func (s *Syncer) Run(ctx context.Context) error {
	for {
		if err := s.SyncOnce(ctx); err != nil && ctx.Err() == nil {
			s.opts.Metrics.pullFails.WithLabelValues(s.opts.Name).Inc()
			s.opts.Logger.Warn("CRM pull failed; will retry at the next interval", "crm", s.opts.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.opts.After(s.opts.Interval):
		}
	}
}

// SyncOnce pulls what changed since the watermark, upserts it and then
// advances the watermark to Changes.Until. Upserts are idempotent, so a
// failure between them and the watermark only repeats work.
func (s *Syncer) SyncOnce(ctx context.Context) error {
	since, err := s.opts.Watermarks.Watermark(s.opts.Name)
	if err != nil {
		return err
	}
	if since.IsZero() {
		since = s.opts.Initial
	}
	ch, err := s.opts.Puller.Pull(ctx, since)
	if err != nil {
		return fmt.Errorf("pull %s: %w", s.opts.Name, err)
	}
	now := s.opts.Now()
	if err := s.opts.Warehouse.UpsertClients(ctx, ch.Clients, s.opts.Name, now); err != nil {
		return fmt.Errorf("store clients pulled from %s: %w", s.opts.Name, err)
	}
	if err := s.opts.Warehouse.UpsertDeals(ctx, ch.Deals, s.opts.Name, now); err != nil {
		return fmt.Errorf("store deals pulled from %s: %w", s.opts.Name, err)
	}
	s.opts.Metrics.pulled.WithLabelValues(s.opts.Name, "client").Add(float64(len(ch.Clients)))
	s.opts.Metrics.pulled.WithLabelValues(s.opts.Name, "deal").Add(float64(len(ch.Deals)))
	if ch.Until.After(since) {
		if err := s.opts.Watermarks.SetWatermark(s.opts.Name, ch.Until); err != nil {
			return err
		}
	}
	s.opts.Logger.Info("CRM pull done", "crm", s.opts.Name, "clients", len(ch.Clients), "deals", len(ch.Deals), "until", ch.Until)
	return nil
}

// Watermark returns the stored pull watermark of crm, zero if none.
func (o *Outbox) Watermark(crm string) (time.Time, error) {
	var t time.Time
	err := o.store.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketPull).Get([]byte(crm))
		if v == nil {
			return nil
		}
		return t.UnmarshalText(v)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s pull watermark: %w", crm, err)
	}
	return t, nil
}

// SetWatermark stores the pull watermark of crm.
func (o *Outbox) SetWatermark(crm string, t time.Time) error {
	v, err := t.UTC().MarshalText()
	if err != nil {
		return fmt.Errorf("encode %s pull watermark: %w", crm, err)
	}
	return o.store.update("store "+crm+" pull watermark", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPull).Put([]byte(crm), v)
	})
}
