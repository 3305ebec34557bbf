package recordings

import (
	"context"
	"fmt"
	"net/url"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// Write is the spool sink of the "recordings" consumer. For each event that
// carries a RecordingRef, or a RecordingURL the provider's recording_hosts
// allow (others could only fail: they are counted in
// callpulse_recordings_skipped_total), it stores a fetch job due at the
// event's ReceivedAt + Options.Delay, unless the same (provider, call id,
// reference) already has a job (pending or dead) or the call already has a
// stored recording. It returns nil once the new jobs are durable, so the
// cursor may advance; it is idempotent, so a redelivered batch adds nothing.
// An error (job store or catalog unavailable) makes the consumer retry the
// batch.
func (s *Store) Write(ctx context.Context, recs []spool.Record) error {
	var cands []job
	var keys []string
	for _, r := range recs {
		e, err := call.Unmarshal(r.Data)
		if err != nil {
			// The spool only holds what ingest encoded: a bug or corruption
			// the CRC missed, which retrying cannot fix.
			s.log.Error("skip undecodable spool record", "seq", r.Seq, "err", err)
			continue
		}
		if e.RecordingURL == "" && e.RecordingRef == "" {
			continue
		}
		if !s.queueable(e) {
			continue
		}
		if e.ReceivedAt.IsZero() { // ingest always sets it; be safe with hand-made events
			e.ReceivedAt = s.opts.Now()
		}
		j := newJob(e, s.opts.Delay)
		cands = append(cands, j)
		keys = append(keys, j.key)
	}
	if len(cands) == 0 {
		return nil
	}
	known, err := s.jobs.known(keys)
	if err != nil {
		return err
	}
	var fresh []job
	var calls []warehouse.CallKey
	for _, j := range cands {
		if known[j.key] {
			continue
		}
		known[j.key] = true // duplicates within the batch
		fresh = append(fresh, j)
		calls = append(calls, warehouse.CallKey{Provider: j.Event.Provider, CallID: j.Event.CallID})
	}
	// One query for the batch: a query per event would bound the whole
	// spool's throughput (segments stay until every consumer passed them).
	recorded, err := s.opts.Catalog.RecordedCalls(ctx, calls)
	if err != nil {
		return fmt.Errorf("look up stored recordings: %w", err)
	}
	var add []job
	for i, j := range fresh {
		if !recorded[calls[i]] {
			add = append(add, j)
		}
	}
	n, err := s.jobs.add(add)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Debug("queued recording jobs", "jobs", n)
		if err := s.updateGauges(); err != nil {
			s.log.Warn("count recording jobs", "err", err)
		}
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// queueable reports whether a job for e could ever succeed: a URL fetched
// directly (no Locator for the provider) must pass the provider's policy.
// Refused URLs are not queued, so that a PBX sending links to hosts not
// listed in recording_hosts does not grow the job store by a dead job per
// call.
func (s *Store) queueable(e call.Event) bool {
	if e.RecordingRef != "" {
		return true
	}
	if _, ok := s.opts.Locators[e.Provider]; ok {
		return true
	}
	u, err := url.Parse(e.RecordingURL)
	if err == nil {
		err = s.policies[e.Provider].checkURL(u)
	}
	if err != nil {
		s.metrics.skipped.Inc()
		s.log.Debug("recording URL not allowed; not fetched", "provider", e.Provider, "call_id", e.CallID, "err", err)
		return false
	}
	return true
}
