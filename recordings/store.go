package recordings

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Consumer is the spool consumer name of the recording fetcher.
const Consumer = "recordings"

// Store is the recording fetcher: a spool sink that queues fetch jobs
// (Write), the worker that downloads them (Run), and the HTTP handler that
// serves stored recordings (Handler).
type Store struct {
	opts     Options
	log      *slog.Logger
	metrics  *Metrics
	jobs     *jobStore
	blobs    *blobs
	guard    *guard
	policies map[string]policy
	wake     chan struct{} // new jobs were added; capacity 1
	running  atomic.Bool

	// onAttempt, if set (by tests), is called after each attempt's outcome
	// is in the job store.
	onAttempt func(key string, o outcome)
}

// New opens the job store and blob directory under opts.Dir. Close it after
// Run has returned and the spool consumer has stopped.
func New(opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create recordings directory: %w", err)
	}
	b, err := openBlobs(filepath.Join(opts.Dir, "blobs"))
	if err != nil {
		return nil, err
	}
	jobs, err := openJobs(filepath.Join(opts.Dir, "jobs.db"), 5*time.Second)
	if err != nil {
		return nil, err
	}
	s := &Store{
		opts:     opts,
		log:      opts.Logger,
		metrics:  opts.Metrics,
		jobs:     jobs,
		blobs:    b,
		guard:    newGuard(opts.Resolver),
		policies: policies(opts),
		wake:     make(chan struct{}, 1),
	}
	if err := s.updateGauges(); err != nil {
		jobs.close()
		return nil, err
	}
	return s, nil
}

// policies builds each provider's fetch policy from validated options.
func policies(opts Options) map[string]policy {
	out := make(map[string]policy, len(opts.AllowedHosts))
	for provider, hosts := range opts.AllowedHosts {
		p := out[provider]
		for _, h := range hosts {
			hp, _ := parseHostPattern(h) // validated
			p.hosts = append(p.hosts, hp)
		}
		out[provider] = p
	}
	for _, provider := range opts.AllowPrivate {
		p := out[provider]
		p.allowPrivate = true
		out[provider] = p
	}
	return out
}

// Close closes the job store.
func (s *Store) Close() error {
	if err := s.jobs.close(); err != nil {
		return fmt.Errorf("close recording job store: %w", err)
	}
	return nil
}

// DeadJob describes a recording that failed permanently.
type DeadJob struct {
	Provider, CallID string
	Host             string // host of the recording URL, if the event had one
	Reason           string // one of the Reason constants
	Error            string // the last error, URLs reduced to their host
	Attempts         int
	Due, DiedAt      time.Time
}

// DeadJobs lists the recordings that failed permanently.
func (s *Store) DeadJobs() ([]DeadJob, error) {
	dead, err := s.jobs.deadJobs()
	if err != nil {
		return nil, err
	}
	out := make([]DeadJob, len(dead))
	for i, d := range dead {
		out[i] = DeadJob{
			Provider: d.Event.Provider, CallID: d.Event.CallID, Reason: d.Reason, Error: d.LastError,
			Attempts: d.Attempts, Due: d.Due, DiedAt: d.DiedAt,
		}
		if d.Event.RecordingURL != "" {
			out[i].Host = urlHost(d.Event.RecordingURL)
		}
	}
	return out, nil
}

func (s *Store) updateGauges() error {
	pending, dead, err := s.jobs.counts()
	if err != nil {
		return err
	}
	s.metrics.pending.Set(float64(pending))
	s.metrics.dead.Set(float64(dead))
	return nil
}

// client is the guarded HTTP client of a provider.
func (s *Store) client(provider string) *http.Client {
	return s.guard.client(s.policies[provider])
}
