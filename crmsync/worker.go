package crmsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/callpulse/callpulse/backoff"
	"github.com/callpulse/callpulse/call"
)

// errStoreFailed wraps outbox database failures, which stop Run.
var errStoreFailed = errors.New("CRM outbox store failed")

// Run pushes due jobs to every target until ctx is done; it then cancels
// the requests in progress (their jobs stay as they were, to be repeated
// after a restart), waits for them and returns nil. Each target has its own
// token bucket and at most Target.Workers requests in flight. An attempt
// ends in one of:
//
//   - done: the job is deleted; a pushed call may add a task job (missed
//     inbound call) and a recording poll (answered call pushed without a
//     recording), in the same transaction.
//   - retry: a retryable *Error (429, 5xx, timeout, network): the job is
//     rescheduled with jittered capped backoff, or the server's RetryAfter
//     if longer; after Options.GiveUpAfter it is dead-lettered (gave_up).
//   - dead: a permanent *Error (other 4xx): the job moves to the dead
//     letters with its status and reason, until Retry.
//   - poll: a recording not in the catalog yet is looked up again after
//     Options.RecordingPoll, until Options.RecordingWait after the push.
//
// Run returns an error only if the outbox database fails. It must not be
// called again before it has returned.
func (o *Outbox) Run(ctx context.Context) error {
	if !o.running.CompareAndSwap(false, true) {
		return errors.New("crmsync: Run is already running")
	}
	defer o.running.Store(false)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, t := range o.targets {
		wg.Go(func() {
			if err := o.runTarget(ctx, t); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && errors.Is(err, errStoreFailed) {
		return err
	}
	return nil
}

func (o *Outbox) runTarget(ctx context.Context, t *target) error {
	type result struct {
		ids []string
		err error
	}
	busy := map[string]bool{} // jobs in flight
	inflight := 0             // units (single jobs or batches) in flight
	done := make(chan result, t.workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for {
		var next time.Time
		if free := t.workers - inflight; free > 0 {
			jobs, n, err := o.store.due(t.name, o.opts.Now(), free*t.batch, busy)
			if err != nil {
				return fmt.Errorf("%w: %w", errStoreFailed, err)
			}
			next = n
			for _, u := range units(jobs, free, t.batch) {
				ids := make([]string, len(u))
				for i, j := range u {
					ids[i] = j.id
					busy[j.id] = true
				}
				inflight++
				wg.Go(func() { done <- result{ids, o.attemptUnit(wctx, t, u)} })
			}
		}
		var timer <-chan time.Time
		if !next.IsZero() && inflight < t.workers {
			timer = o.opts.After(next.Sub(o.opts.Now()))
		}
		select {
		case <-ctx.Done():
			return nil
		case r := <-done:
			inflight--
			for _, id := range r.ids {
				delete(busy, id)
			}
			if r.err != nil {
				return fmt.Errorf("%w: %w", errStoreFailed, r.err)
			}
		case <-t.wake:
		case <-timer:
		}
	}
}

// units splits due jobs into at most n units of work: calls in batches of
// up to batch (when the target pushes batches), every other job alone.
// Jobs left out stay due for the next round.
func units(jobs []job, n, batch int) [][]job {
	var out [][]job
	open := -1 // index in out of the batch being filled
	for _, j := range jobs {
		if j.Kind == KindCall && batch > 1 {
			if open >= 0 && len(out[open]) < batch {
				out[open] = append(out[open], j)
				continue
			}
			if len(out) == n {
				continue
			}
			open = len(out)
			out = append(out, []job{j})
			continue
		}
		if len(out) == n {
			continue
		}
		out = append(out, []job{j})
	}
	return out
}

// attemptUnit makes one attempt at a unit from units.
func (o *Outbox) attemptUnit(ctx context.Context, t *target, u []job) error {
	if len(u) == 1 {
		return o.attempt(ctx, t, u[0])
	}
	return o.attemptCalls(ctx, t, u)
}

// attempt makes one attempt at j and records its outcome. It returns an
// error only if the outbox database fails.
func (o *Outbox) attempt(ctx context.Context, t *target, j job) error {
	var err error
	var settle func(tx *bolt.Tx) error
	switch j.Kind {
	case KindCall:
		var p pendingPush
		if p, err = o.prepareCall(ctx, t, j); err == nil {
			var ref Ref
			err = o.request(ctx, t, func(ctx context.Context) error {
				var err error
				ref, err = t.pusher.PushCall(ctx, p.rec)
				return err
			})
			if err == nil {
				settle = o.afterPush(t, p, ref)
			}
		}
	case KindTask, KindNotify:
		err = o.request(ctx, t, func(ctx context.Context) error { return t.pusher.CreateTask(ctx, *j.Task) })
	case KindLead:
		err = o.moveLead(ctx, t, j)
	case KindRecording:
		var poll bool
		poll, err = o.attachRecording(ctx, t, &j)
		if err == nil && poll {
			log := o.log.With(slog.String("crm", t.name), slog.String("kind", j.Kind), slog.String("call", j.Call))
			return o.finish(j, nil, o.reschedulePoll(log, j))
		}
	default:
		err = &Error{Reason: "unknown job kind " + j.Kind}
	}
	return o.outcome(ctx, t, j, settle, err)
}

// attemptCalls pushes several due calls through the target's BatchPusher
// in one go and records each call's outcome.
func (o *Outbox) attemptCalls(ctx context.Context, t *target, jobs []job) error {
	bp := t.pusher.(BatchPusher) // units batches only for BatchPushers
	var pushes []pendingPush
	for _, j := range jobs {
		p, err := o.prepareCall(ctx, t, j)
		if err != nil {
			if err := o.outcome(ctx, t, j, nil, err); err != nil {
				return err
			}
			continue
		}
		pushes = append(pushes, p)
	}
	if len(pushes) == 0 {
		return nil
	}
	recs := make([]CallRecord, len(pushes))
	for i, p := range pushes {
		recs[i] = p.rec
	}
	var results []PushResult
	_ = o.request(ctx, t, func(ctx context.Context) error {
		results = bp.PushCalls(ctx, recs)
		return nil
	})
	if len(results) != len(pushes) {
		return o.outcomes(ctx, t, pushes, &Error{Retryable: true, Reason: "batch push returned the wrong number of results",
			Err: fmt.Errorf("%d results for %d calls", len(results), len(pushes))})
	}
	for i, p := range pushes {
		err := o.timeout(ctx, results[i].Err)
		var settle func(tx *bolt.Tx) error
		if err == nil {
			settle = o.afterPush(t, p, results[i].Ref)
		}
		if err := o.outcome(ctx, t, p.job, settle, err); err != nil {
			return err
		}
	}
	return nil
}

// outcomes records the same failure for every push.
func (o *Outbox) outcomes(ctx context.Context, t *target, pushes []pendingPush, err error) error {
	for _, p := range pushes {
		if err := o.outcome(ctx, t, p.job, nil, err); err != nil {
			return err
		}
	}
	return nil
}

// outcome records the end of an attempt at j: done (settle runs in the
// same transaction as the job's deletion), retry or dead letter. It
// returns an error only if the outbox database fails.
func (o *Outbox) outcome(ctx context.Context, t *target, j job, settle func(tx *bolt.Tx) error, err error) error {
	log := o.log.With(slog.String("crm", t.name), slog.String("kind", j.Kind), slog.String("call", j.Call))
	if ctx.Err() != nil {
		return nil // shutting down: the job stays as it was
	}
	if err == nil {
		o.metrics.pushed.WithLabelValues(t.name, j.Kind).Inc()
		log.Debug("CRM request done", "attempts", j.Attempts+1)
		return o.finish(j, nil, func(tx *bolt.Tx) error {
			if err := deleteJob(tx, j.id); err != nil {
				return err
			}
			if settle != nil {
				return settle(tx)
			}
			return nil
		})
	}
	j.Attempts++
	ce := Classify(err)
	now := o.opts.Now()
	if ce.Retryable && now.Before(j.Due.Add(o.opts.GiveUpAfter)) {
		j.NextAt = now.Add(o.retryDelay(j.Attempts, ce.RetryAfter))
		j.LastError = ce.Error()
		o.metrics.retries.WithLabelValues(t.name, j.Kind).Inc()
		log.Warn("CRM request will be retried", "attempts", j.Attempts, "next_at", j.NextAt, "err", ce)
		return o.finish(j, err, func(tx *bolt.Tx) error {
			if err := deleteJob(tx, j.id); err != nil {
				return err
			}
			return putJob(tx, j)
		})
	}
	reason := ce.Reason
	if ce.Retryable {
		reason = "gave_up: " + reason
	}
	d := DeadLetter{
		ID: j.id, CRM: j.CRM, Kind: j.Kind, Call: j.Call, Status: ce.Status, Reason: reason,
		Error: ce.Error(), Attempts: j.Attempts, Due: j.Due, DiedAt: now, Job: j,
	}
	log.Warn("CRM request failed permanently; dead-lettered", "status", ce.Status, "reason", reason)
	return o.finish(j, err, func(tx *bolt.Tx) error { return buryJob(tx, d) })
}

// finish applies an outcome in one transaction, refreshes the gauges and
// tells the test hook.
func (o *Outbox) finish(j job, attemptErr error, fn func(tx *bolt.Tx) error) error {
	if err := o.store.update("settle CRM job", fn); err != nil {
		return err
	}
	o.refreshGauges()
	if o.onAttempt != nil {
		o.onAttempt(j, attemptErr)
	}
	return nil
}

// request runs fn bounded by Options.Timeout and observes its duration.
// The Pusher waits for its account's Throttle within that time.
func (o *Outbox) request(ctx context.Context, t *target, fn func(ctx context.Context) error) error {
	rctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	start := time.Now()
	err := fn(rctx)
	o.metrics.duration.WithLabelValues(t.name).Observe(time.Since(start).Seconds())
	return o.timeout(ctx, err)
}

// timeout classifies an attempt that ran out of Options.Timeout (while
// ctx itself is live) as retryable.
func (o *Outbox) timeout(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return &Error{Retryable: true, Reason: "timeout", Err: err}
	}
	return err
}

// pendingPush is a call job ready to push: its record and folded call.
type pendingPush struct {
	job     job
	rec     CallRecord
	call    call.Call
	finalAt time.Time
	// repeat is the priority notification of a repeat lead, nil if the
	// call is not one.
	repeat *Task
}

// prepareCall folds the job's call and builds its record, with the
// recording link when the recording is already stored.
func (o *Outbox) prepareCall(ctx context.Context, t *target, j job) (pendingPush, error) {
	var st callState
	err := o.store.db.View(func(tx *bolt.Tx) error {
		var found bool
		var err error
		st, found, err = getCall(tx, j.Call)
		if err == nil && !found {
			err = fmt.Errorf("call state of job %s missing", j.id)
		}
		return err
	})
	if err != nil {
		return pendingPush{}, &Error{Reason: "outbox", Err: err}
	}
	c := call.Fold(st.Events)
	rec := o.record(t, j.Call, c)
	_, found, err := o.opts.Catalog.Recording(ctx, c.Provider, c.CallID)
	if err != nil {
		return pendingPush{}, &Error{Retryable: true, Reason: "recording catalog", Err: err}
	}
	if found {
		rec.RecordingURL = o.opts.RecordingURL(c.Provider, c.CallID)
	}
	p := pendingPush{job: j, rec: rec, call: c, finalAt: st.FinalAt}
	if p.repeat, err = o.repeatLead(ctx, t, rec, c, st.PrevContact); err != nil {
		return pendingPush{}, err
	}
	return p, nil
}

// repeatLead returns the priority notification for a repeat lead — an
// inbound call from a client already in the client base before the call,
// with no call with it for RepeatLeadGap before — or nil. The task goes
// to the client's responsible manager (the call's manager if the client
// has none), due at once.
func (o *Outbox) repeatLead(ctx context.Context, t *target, rec CallRecord, c call.Call, prev time.Time) (*Task, error) {
	if o.opts.Clients == nil || c.Direction != call.DirectionInbound || rec.ClientPhone == "" || c.StartedAt.IsZero() {
		return nil, nil
	}
	if !prev.IsZero() && c.StartedAt.Sub(prev) < o.opts.RepeatLeadGap {
		return nil, nil
	}
	manager, known, err := o.opts.Clients.KnownClient(ctx, rec.ClientPhone, c.StartedAt)
	if err != nil {
		return nil, &Error{Retryable: true, Reason: "client base", Err: err}
	}
	if !known {
		return nil, nil
	}
	user := rec.CRMUserID
	if u, ok := t.users[manager]; ok {
		user = u
	}
	return &Task{
		Key: rec.Key, ClientPhone: rec.ClientPhone, CRMUserID: user, Priority: true,
		Title: "Повторное обращение клиента",
		Description: fmt.Sprintf("Клиент из базы снова обратился: входящий звонок %s UTC с номера %s на линию %s.",
			c.StartedAt.UTC().Format("2006-01-02 15:04"), rec.ClientPhone, rec.LinePhone),
		Deadline: o.opts.Now(),
	}, nil
}

// afterPush returns the follow-up jobs of a pushed call, to add when the
// push is settled: a callback task for a missed inbound call, and for an
// answered call whose push did not carry the recording, an attachment (at
// once if the recording is stored, else polled for).
func (o *Outbox) afterPush(t *target, p pendingPush, ref Ref) func(tx *bolt.Tx) error {
	now := o.opts.Now()
	j, rec, c := p.job, p.rec, p.call
	return func(tx *bolt.Tx) error {
		if p.repeat != nil {
			nj := job{id: jobID(t.name, KindNotify, j.Call), CRM: t.name, Kind: KindNotify, Call: j.Call,
				Due: now, NextAt: now, Task: p.repeat}
			if _, err := addJob(tx, nj); err != nil {
				return err
			}
		}
		if task, ok := o.missedTask(rec, c, p.finalAt); ok {
			tj := job{id: jobID(t.name, KindTask, j.Call), CRM: t.name, Kind: KindTask, Call: j.Call,
				Due: now, NextAt: now, Task: &task}
			if _, err := addJob(tx, tj); err != nil {
				return err
			}
		}
		if !ref.Recording && c.Status == call.StatusAnswered {
			r := rec
			next := now.Add(o.opts.RecordingPoll)
			if rec.RecordingURL != "" {
				next = now // stored already: attach it at once
			}
			rj := job{id: jobID(t.name, KindRecording, j.Call), CRM: t.name, Kind: KindRecording, Call: j.Call,
				Due: now, NextAt: next, Ref: ref, Record: &r, Until: now.Add(o.opts.RecordingWait)}
			if _, err := addJob(tx, rj); err != nil {
				return err
			}
		}
		return nil
	}
}

// attachRecording looks the recording up and attaches it if it exists;
// poll reports that it does not exist yet.
func (o *Outbox) attachRecording(ctx context.Context, t *target, j *job) (poll bool, err error) {
	provider, callID, _ := strings.Cut(j.Call, ":")
	_, found, err := o.opts.Catalog.Recording(ctx, provider, callID)
	if err != nil {
		return false, &Error{Retryable: true, Reason: "recording catalog", Err: err}
	}
	if !found {
		return true, nil
	}
	rec := *j.Record
	rec.RecordingURL = o.opts.RecordingURL(provider, callID)
	return false, o.request(ctx, t, func(ctx context.Context) error { return t.pusher.AttachRecording(ctx, j.Ref, rec) })
}

// reschedulePoll moves a recording poll to its next look-up, or drops it
// once Until has passed.
func (o *Outbox) reschedulePoll(log *slog.Logger, j job) func(tx *bolt.Tx) error {
	now := o.opts.Now()
	if !now.Before(j.Until) {
		o.metrics.gaveUp.WithLabelValues(j.CRM).Inc()
		log.Info("no recording appeared; call stays on the CRM card without one")
		return func(tx *bolt.Tx) error { return deleteJob(tx, j.id) }
	}
	old := j
	j.NextAt = now.Add(o.opts.RecordingPoll)
	if j.NextAt.After(j.Until) {
		j.NextAt = j.Until // one last look at the deadline
	}
	return func(tx *bolt.Tx) error {
		if err := deleteJob(tx, old.id); err != nil {
			return err
		}
		return putJob(tx, j)
	}
}

// retryDelay is the backoff after the given number of failed attempts.
func (o *Outbox) retryDelay(attempts int, retryAfter time.Duration) time.Duration {
	b := backoff.New(o.opts.Retry)
	var d time.Duration
	for range min(attempts, 64) {
		d = b.Next(retryAfter)
	}
	return d
}
