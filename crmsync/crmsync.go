// Package crmsync pushes finished calls, their recordings and callback tasks
// to the client's CRM card (Bitrix24, amoCRM) and pulls leads and deals back
// into ClickHouse.
//
// Push is a spool consumer ("crm") with a durable outbox: events are folded
// per call into a bbolt store, a call that is final is pushed once through a
// Pusher, rate limited per CRM account and retried with jittered capped
// backoff; permanent failures go to a dead-letter store. Pull is a scheduled,
// incremental Puller whose Changes are upserted into the warehouse.
package crmsync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/deal"
)

// CallRecord is a finished call to put on the client's CRM card.
type CallRecord struct {
	// Key is "provider:call_id": the idempotency key (amoCRM uniq, Bitrix
	// EXTERNAL_CALL_ID).
	Key         string
	Direction   call.Direction
	Status      call.Status
	ClientPhone string
	LinePhone   string
	// Manager is the PBX extension.
	Manager string
	// CRMUserID is mapped from Manager by config ("" = CRM default).
	CRMUserID   string
	StartedAt   time.Time
	TalkSeconds uint32
	// RecordingURL is the URL served by callpulse, "" if none (yet).
	RecordingURL string
}

// Task is a callback task for a missed call.
type Task struct {
	// Key is the idempotency key of the task ("provider:call_id").
	Key         string
	ClientPhone string
	CRMUserID   string
	Title       string
	Description string
	Deadline    time.Time
	// Priority asks the CRM to notify the manager at once (a repeat lead).
	Priority bool
}

// Ref is what a CRM returns for a pushed call, needed to attach its
// recording later (Bitrix CALL_ID; amoCRM call id).
type Ref struct {
	ID string
	// Recording reports that the push carried the call's RecordingURL
	// (amoCRM's call note links it). Otherwise an answered call's recording
	// is attached by a separate AttachRecording (Bitrix24 attachRecord,
	// which only works after finish), at once if it is already stored.
	Recording bool
}

// Pusher puts calls, recordings and tasks into one CRM account.
//
// Implementations return *Error (possibly wrapped) to classify failures;
// any other error is treated as retryable. PushCall must be idempotent by
// CallRecord.Key where the CRM allows it.
type Pusher interface {
	Name() string
	PushCall(ctx context.Context, c CallRecord) (Ref, error)
	AttachRecording(ctx context.Context, ref Ref, c CallRecord) error
	CreateTask(ctx context.Context, t Task) error
}

// BatchPusher is a Pusher that pushes several calls in fewer requests
// (Bitrix24: up to 50 commands per batch request). When more than one call
// is due for the account — a backlog after an outage or a burst — the
// outbox hands them over together.
type BatchPusher interface {
	Pusher
	// MaxBatch is the most calls one PushCalls takes.
	MaxBatch() int
	// PushCalls pushes calls; result i is the outcome of calls[i], as
	// PushCall would return it.
	PushCalls(ctx context.Context, calls []CallRecord) []PushResult
}

// PushResult is the outcome of one call of PushCalls.
type PushResult struct {
	Ref Ref
	Err error
}

// Changes is what a Puller found changed since the given time.
type Changes struct {
	Clients []client.Client
	Deals   []deal.Deal
	// Until is the watermark to pass as since to the next Pull.
	Until time.Time
}

// Puller reads clients and deals changed in a CRM since a time.
type Puller interface {
	Pull(ctx context.Context, since time.Time) (Changes, error)
}

// Error classifies a failure: Retryable with an optional RetryAfter, or
// permanent with a reason.
type Error struct {
	Retryable bool
	// RetryAfter is the server's requested wait (Retry-After), 0 if none.
	RetryAfter time.Duration
	// Status is the HTTP status, 0 for transport failures.
	Status int
	// Reason is a short human-readable cause, free of secrets and phones.
	Reason string
	Err    error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	s := "crm " + kind
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Classify returns the *Error in err's chain, or a retryable *Error wrapping
// err if there is none (unknown failures are assumed transient). A context
// cancellation is returned as retryable too; callers check ctx themselves.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	return &Error{Retryable: true, Reason: "transport", Err: err}
}

// StatusError classifies an HTTP response status: 429, 408 and 5xx are
// retryable (honouring retryAfter), any other non-2xx status is permanent.
// It returns nil for 2xx.
func StatusError(status int, retryAfter time.Duration, reason string) *Error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return &Error{Retryable: true, RetryAfter: retryAfter, Status: status, Reason: reason}
	}
	return &Error{Status: status, Reason: reason}
}
