// Package crmtest is the contract suite every CRM Pusher passes against its
// emulator: idempotent pushes by key, status and manager mapping, recording
// attachment, callback tasks, and the classification of failures (429 and
// 5xx retryable with Retry-After, timeouts retryable, auth failures
// permanent).
package crmtest

import (
	"context"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
)

// Call is a call as the CRM emulator recorded it.
type Call struct {
	Key          string // the idempotency key the CRM received (uniq, EXTERNAL_CALL_ID)
	Phone        string // E.164
	Direction    call.Direction
	Answered     bool
	Duration     int // seconds
	UserID       string
	RecordingURL string
}

// Task is a task as the CRM emulator recorded it.
type Task struct {
	Phone    string // E.164 of the client it is linked to, "" if unlinked
	UserID   string
	Deadline time.Time
	Text     string
}

// Backend is the test side of a CRM emulator.
type Backend interface {
	// KnowPhone makes phone (E.164) a known contact of the CRM.
	KnowPhone(phone string)
	// FailNext makes the next n requests fail with the HTTP status, with a
	// Retry-After header when retryAfter > 0.
	FailNext(n, status int, retryAfter time.Duration)
	// HangNext makes the next n requests hang until the client gives up.
	HangNext(n int)
	// RevokeAuth makes every later request fail authentication.
	RevokeAuth()
	// Calls and Tasks return what the CRM holds, in creation order.
	Calls() []Call
	Tasks() []Task
}

// Harness is a Pusher connected to a fresh emulator.
type Harness struct {
	Pusher  crmsync.Pusher
	Backend Backend
}

// Phones and users the suite uses; harnesses need no setup for them.
const (
	KnownPhone   = "+79161234567"
	UnknownPhone = "+79169876543"
	LinePhone    = "+74951234567"
	UserID       = "6543210"
)

var start = time.Date(2024, 5, 14, 7, 21, 5, 0, time.UTC)

func answered() crmsync.CallRecord {
	return crmsync.CallRecord{
		Key: "generic:c-answered", Direction: call.DirectionInbound, Status: call.StatusAnswered,
		ClientPhone: KnownPhone, LinePhone: LinePhone, Manager: "101", CRMUserID: UserID,
		StartedAt: start, TalkSeconds: 132,
	}
}

// Run runs the contract suite; newHarness is called once per subtest.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	ctx := context.Background()

	t.Run("push is idempotent by key", func(t *testing.T) {
		h := newHarness(t)
		h.Backend.KnowPhone(KnownPhone)
		c := answered()
		for range 2 {
			if _, err := h.Pusher.PushCall(ctx, c); err != nil {
				t.Fatalf("PushCall: %v", err)
			}
		}
		got := h.Backend.Calls()
		want := Call{Key: c.Key, Phone: KnownPhone, Direction: call.DirectionInbound, Answered: true, Duration: 132, UserID: UserID}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("calls = %+v, want exactly [%+v]", got, want)
		}
	})

	t.Run("outbound busy call is not answered", func(t *testing.T) {
		h := newHarness(t)
		h.Backend.KnowPhone(KnownPhone)
		c := answered()
		c.Key, c.Direction, c.Status, c.TalkSeconds = "generic:c-busy", call.DirectionOutbound, call.StatusBusy, 0
		if _, err := h.Pusher.PushCall(ctx, c); err != nil {
			t.Fatalf("PushCall: %v", err)
		}
		got := h.Backend.Calls()
		if len(got) != 1 || got[0].Answered || got[0].Direction != call.DirectionOutbound || got[0].Duration != 0 {
			t.Fatalf("calls = %+v, want one unanswered outbound call", got)
		}
	})

	t.Run("unknown caller is put on a new card", func(t *testing.T) {
		h := newHarness(t)
		c := answered()
		c.Key, c.ClientPhone, c.Status, c.TalkSeconds = "generic:c-unknown", UnknownPhone, call.StatusMissed, 0
		if _, err := h.Pusher.PushCall(ctx, c); err != nil {
			t.Fatalf("PushCall: %v", err)
		}
		if got := h.Backend.Calls(); len(got) != 1 || got[0].Phone != UnknownPhone {
			t.Fatalf("calls = %+v, want the unknown caller's call", got)
		}
	})

	t.Run("recording is attached to the pushed call", func(t *testing.T) {
		h := newHarness(t)
		h.Backend.KnowPhone(KnownPhone)
		c := answered()
		ref, err := h.Pusher.PushCall(ctx, c)
		if err != nil {
			t.Fatalf("PushCall: %v", err)
		}
		c.RecordingURL = "https://callpulse.example.com/r/generic/c-answered.mp3"
		if err := h.Pusher.AttachRecording(ctx, ref, c); err != nil {
			t.Fatalf("AttachRecording: %v", err)
		}
		if got := h.Backend.Calls(); len(got) != 1 || got[0].RecordingURL != c.RecordingURL {
			t.Fatalf("calls = %+v, want one with recording %s", got, c.RecordingURL)
		}
	})

	t.Run("callback task for a missed call", func(t *testing.T) {
		h := newHarness(t)
		h.Backend.KnowPhone(KnownPhone)
		c := answered()
		c.Status, c.TalkSeconds = call.StatusMissed, 0
		if _, err := h.Pusher.PushCall(ctx, c); err != nil {
			t.Fatalf("PushCall: %v", err)
		}
		task := crmsync.Task{Key: c.Key, ClientPhone: KnownPhone, CRMUserID: UserID, Title: "Перезвонить",
			Description: "Пропущенный звонок", Deadline: start.Add(15 * time.Minute)}
		if err := h.Pusher.CreateTask(ctx, task); err != nil {
			t.Fatalf("CreateTask: %v", err)
		}
		got := h.Backend.Tasks()
		if len(got) != 1 || got[0].UserID != UserID || !got[0].Deadline.Equal(task.Deadline) || got[0].Phone != KnownPhone {
			t.Fatalf("tasks = %+v, want one for user %s due %v on %s", got, UserID, task.Deadline, KnownPhone)
		}
	})

	failures := []struct {
		name       string
		status     int
		retryAfter time.Duration
	}{
		{"429 with Retry-After is retryable", 429, 3 * time.Second},
		{"503 is retryable", 503, 0},
		{"500 is retryable", 500, 0},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t)
			h.Backend.KnowPhone(KnownPhone)
			h.Backend.FailNext(1, f.status, f.retryAfter)
			_, err := h.Pusher.PushCall(ctx, answered())
			ce := crmsync.Classify(err)
			if ce == nil || !ce.Retryable || ce.RetryAfter != f.retryAfter {
				t.Fatalf("PushCall error = %v (%+v), want retryable with RetryAfter %v", err, ce, f.retryAfter)
			}
			if _, err := h.Pusher.PushCall(ctx, answered()); err != nil {
				t.Fatalf("PushCall after the failure: %v", err)
			}
			if got := h.Backend.Calls(); len(got) != 1 {
				t.Fatalf("calls = %+v, want exactly one", got)
			}
		})
	}

	t.Run("timeout is retryable", func(t *testing.T) {
		h := newHarness(t)
		h.Backend.KnowPhone(KnownPhone)
		h.Backend.HangNext(1)
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := h.Pusher.PushCall(tctx, answered())
		if ce := crmsync.Classify(err); ce == nil || !ce.Retryable {
			t.Fatalf("PushCall error = %v, want retryable", err)
		}
	})

	t.Run("revoked credentials are permanent", func(t *testing.T) {
		h := newHarness(t)
		h.Backend.KnowPhone(KnownPhone)
		h.Backend.RevokeAuth()
		_, err := h.Pusher.PushCall(ctx, answered())
		ce := crmsync.Classify(err)
		if ce == nil || ce.Retryable || ce.Status != 401 {
			t.Fatalf("PushCall error = %v (%+v), want permanent 401", err, ce)
		}
		if len(h.Backend.Calls()) != 0 {
			t.Fatal("a call was stored without valid credentials")
		}
	})
}
