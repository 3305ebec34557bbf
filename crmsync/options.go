package crmsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/callpulse/callpulse/backoff"
	"github.com/callpulse/callpulse/warehouse"
)

// Consumer is the spool consumer name of the CRM pusher.
const Consumer = "crm"

// Catalog tells whether a call has a stored recording. *warehouse.DB
// implements it.
type Catalog interface {
	Recording(ctx context.Context, provider, callID string) (warehouse.Recording, bool, error)
}

// Clients tells whether a phone was in the client base (imported or pulled
// from the CRM) before a time, and who its responsible manager is (a PBX
// extension, "" if none). *warehouse.DB implements it.
type Clients interface {
	KnownClient(ctx context.Context, phone string, before time.Time) (manager string, known bool, err error)
}

// Defaults for zero Options and Target fields.
const (
	DefaultRepeatLeadGap    = 30 * 24 * time.Hour
	DefaultSettle           = 30 * time.Second
	DefaultMissedSLA        = 15 * time.Minute
	DefaultRecordingWait    = 2 * time.Hour
	DefaultRecordingPoll    = time.Minute
	DefaultAttemptTimeout   = 30 * time.Second
	DefaultGiveUpAfter      = 72 * time.Hour
	DefaultRetryBase        = time.Second
	DefaultRetryMax         = 5 * time.Minute
	DefaultWorkers          = 2
	DefaultMaxEventsPerCall = 64
)

// Target is one CRM account the outbox pushes to. The Pusher throttles its
// own requests with the account's Throttle: one push may take several
// requests (Bitrix24 register and finish; amoCRM a lead and the call), and
// the account's limit counts requests, not pushes.
type Target struct {
	// Pusher is the CRM client; its Name is the {crm} metric label and the
	// prefix of its jobs. Required, names unique.
	Pusher Pusher
	// Users maps a PBX extension to the CRM user id; unmapped managers get
	// "" (the CRM's default responsible user).
	Users map[string]string
	// Workers is the number of concurrent pushes (DefaultWorkers).
	Workers int
}

// Options configure an Outbox. Zero fields take the defaults named.
type Options struct {
	// Path is the bbolt outbox database file. Required.
	Path string
	// Targets are the CRM accounts pushed to. An outbox without targets
	// only keeps pull watermarks (a CRM that is pulled, not pushed to).
	Targets []Target
	// Catalog finds stored recordings. Required.
	Catalog Catalog
	// RecordingURL returns the URL at which callpulse serves a call's
	// recording to the CRM. Required.
	RecordingURL func(provider, callID string) string

	// Clients tells whether a caller is already in the client base; nil
	// turns repeat leads off.
	Clients Clients
	// RepeatLeadGap: an inbound call from a known client with no call with
	// it for this long is a repeat lead (DefaultRepeatLeadGap).
	RepeatLeadGap time.Duration

	Settle        time.Duration  // a final call is pushed this long after its first final event (DefaultSettle)
	MissedSLA     time.Duration  // callback task deadline after a missed call (DefaultMissedSLA)
	RecordingWait time.Duration  // how long after the push a recording is polled for (DefaultRecordingWait)
	RecordingPoll time.Duration  // interval of recording polls (DefaultRecordingPoll)
	Timeout       time.Duration  // bound on one CRM request (DefaultAttemptTimeout)
	GiveUpAfter   time.Duration  // a job still failing this long after it was due is dead-lettered (DefaultGiveUpAfter)
	Retry         backoff.Policy // (DefaultRetryBase, DefaultRetryMax)
	// MaxEventsPerCall bounds the events kept per call (DefaultMaxEventsPerCall).
	MaxEventsPerCall int

	Metrics *Metrics     // from NewMetrics; nil counts without exporting
	Logger  *slog.Logger // nil discards
	// Now and After are the clock (nil: time.Now, time.After); give the
	// targets' Throttles the same clock so tests run in virtual time.
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
}

// Validate reports every problem with opts, one per line.
func (o Options) Validate() error {
	var errs []error
	if o.Path == "" {
		errs = append(errs, errors.New("crmsync: path is required"))
	}
	if o.Catalog == nil {
		errs = append(errs, errors.New("crmsync: catalog is required"))
	}
	if o.RecordingURL == nil {
		errs = append(errs, errors.New("crmsync: recording URL function is required"))
	}
	names := map[string]bool{}
	for i, t := range o.Targets {
		if t.Pusher == nil {
			errs = append(errs, fmt.Errorf("crmsync: target %d: pusher is required", i))
			continue
		}
		n := t.Pusher.Name()
		if n == "" || names[n] {
			errs = append(errs, fmt.Errorf("crmsync: target %d: name %q empty or repeated", i, n))
		}
		names[n] = true
		if t.Workers < 0 {
			errs = append(errs, fmt.Errorf("crmsync: %s: workers must not be negative", n))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"settle", o.Settle}, {"missed_sla", o.MissedSLA}, {"recording_wait", o.RecordingWait},
		{"recording_poll", o.RecordingPoll}, {"timeout", o.Timeout}, {"give_up_after", o.GiveUpAfter},
		{"repeat_lead_gap", o.RepeatLeadGap},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("crmsync: %s %v must not be negative", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Settle, DefaultSettle)
	def(&o.MissedSLA, DefaultMissedSLA)
	def(&o.RecordingWait, DefaultRecordingWait)
	def(&o.RecordingPoll, DefaultRecordingPoll)
	def(&o.Timeout, DefaultAttemptTimeout)
	def(&o.GiveUpAfter, DefaultGiveUpAfter)
	def(&o.RepeatLeadGap, DefaultRepeatLeadGap)
	def(&o.Retry.Base, DefaultRetryBase)
	def(&o.Retry.Max, DefaultRetryMax)
	if o.MaxEventsPerCall <= 0 {
		o.MaxEventsPerCall = DefaultMaxEventsPerCall
	}
	targets := make([]Target, len(o.Targets))
	for i, t := range o.Targets {
		if t.Workers == 0 {
			t.Workers = DefaultWorkers
		}
		targets[i] = t
	}
	o.Targets = targets
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	return o
}
