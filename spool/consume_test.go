package spool

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/callpulse/callpulse/backoff"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeClock is a ConsumeOptions.After that hands every timer to the test,
// which fires it (or not) explicitly.
type fakeClock struct{ timers chan fakeTimer }

type fakeTimer struct {
	d    time.Duration
	fire chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{timers: make(chan fakeTimer, 64)} }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	t := fakeTimer{d: d, fire: make(chan time.Time, 1)}
	c.timers <- t
	return t.fire
}

func (t fakeTimer) Fire() { t.fire <- time.Time{} }

// sinkCall is what a sink saw in one Write.
type sinkCall struct {
	seqs        []uint64
	committed   uint64 // the consumer's cursor during the call
	ctxErr      error
	hasDeadline bool
}

// recordingSink reports every Write on calls and returns result(n) for the
// n-th call (1-based).
func recordingSink(r *Reader, calls chan<- sinkCall, result func(n int) error) Sink {
	n := 0
	return sinkFunc(func(ctx context.Context, recs []Record) error {
		n++
		_, hasDeadline := ctx.Deadline()
		calls <- sinkCall{seqs(recs), r.Committed(), ctx.Err(), hasDeadline}
		return result(n)
	})
}

// startConsume runs Consume in the background; the returned channel yields
// its result.
func startConsume(ctx context.Context, r *Reader, sink Sink, opts ConsumeOptions) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Consume(ctx, r, sink, opts) }()
	return done
}

func TestConsumeRetriesSameBatchWithBackoff(t *testing.T) {
	const failures = 3
	m := NewMetrics(prometheus.NewRegistry())
	s := openTest(t, Options{Metrics: m}, hooks{})
	for range 5 {
		mustAppend(t, s, []byte("call event"))
	}
	r := mustReader(t, s, "warehouse")
	clock := newFakeClock()
	calls := make(chan sinkCall, 10)
	sink := recordingSink(r, calls, func(n int) error {
		if n <= failures {
			return errors.New("clickhouse unavailable")
		}
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := startConsume(ctx, r, sink, ConsumeOptions{
		MaxBatch: 5,
		Backoff:  backoff.Policy{Base: time.Second, Max: 3 * time.Second},
		After:    clock.After,
	})
	// Ceilings double from Base and are capped at Max; equal jitter keeps
	// each delay within [ceiling/2, ceiling].
	ceilings := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	for i := range failures {
		call := <-calls
		if !slices.Equal(call.seqs, seqRange(1, 5)) || call.committed != 0 {
			t.Fatalf("attempt %d wrote %v with cursor %d; want the same batch 1..5, cursor 0", i+1, call.seqs, call.committed)
		}
		timer := <-clock.timers
		if timer.d < ceilings[i]/2 || timer.d > ceilings[i] {
			t.Fatalf("retry %d after %v, want within [%v, %v]", i+1, timer.d, ceilings[i]/2, ceilings[i])
		}
		timer.Fire()
	}
	if call := <-calls; !slices.Equal(call.seqs, seqRange(1, 5)) || call.committed != 0 {
		t.Fatalf("successful attempt wrote %v with cursor %d; want 1..5, cursor 0", call.seqs, call.committed)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Consume = %v, want nil after cancel", err)
	}
	if r.Committed() != 5 {
		t.Fatalf("cursor = %d after success, want 5", r.Committed())
	}
	if got := counterValue(t, m.consumerErrors.WithLabelValues("warehouse")); got != failures {
		t.Fatalf("consumer errors = %v, want %d", got, failures)
	}
}

func TestConsumeBatchesBySizeAndAge(t *testing.T) {
	s := openTest(t, Options{}, hooks{})
	r := mustReader(t, s, "crm")
	for range 10 {
		mustAppend(t, s, []byte("event"))
	}
	clock := newFakeClock()
	calls := make(chan sinkCall, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := startConsume(ctx, r, recordingSink(r, calls, func(int) error { return nil }),
		ConsumeOptions{MaxBatch: 4, MaxAge: time.Minute, After: clock.After})

	// Full batches go out without waiting for their age.
	for _, want := range [][]uint64{seqRange(1, 4), seqRange(5, 8)} {
		if call := <-calls; !slices.Equal(call.seqs, want) {
			t.Fatalf("batch %v, want %v", call.seqs, want)
		}
	}
	// 9 and 10 wait for more records or their age.
	timer := <-clock.timers
	if timer.d != time.Minute {
		t.Fatalf("age timer %v, want MaxAge 1m", timer.d)
	}
	mustAppend(t, s, []byte("event"), []byte("event")) // fills the batch
	if call := <-calls; !slices.Equal(call.seqs, seqRange(9, 12)) || call.committed != 8 {
		t.Fatalf("batch %v with cursor %d, want 9..12 with cursor 8", call.seqs, call.committed)
	}

	// A partial batch goes out when its age timer fires, not before.
	mustAppend(t, s, []byte("event"))
	timer = <-clock.timers
	select {
	case call := <-calls:
		t.Fatalf("batch %v written before MaxAge", call.seqs)
	default:
	}
	timer.Fire()
	if call := <-calls; !slices.Equal(call.seqs, []uint64{13}) {
		t.Fatalf("aged batch %v, want [13]", call.seqs)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.Committed() != 13 {
		t.Fatalf("cursor = %d, want 13", r.Committed())
	}
}

func TestConsumeCancelFlushesBatchInHand(t *testing.T) {
	tests := []struct {
		name          string
		maxBatch      int
		result        func(n int) error
		wantCalls     int
		wantCommitted uint64
	}{
		{
			name:          "waiting for age",
			maxBatch:      100,
			result:        func(int) error { return nil },
			wantCalls:     1,
			wantCommitted: 2,
		},
		{
			name:     "waiting to retry",
			maxBatch: 2,
			result: func(n int) error {
				if n == 1 {
					return errors.New("unavailable")
				}
				return nil
			},
			wantCalls:     2,
			wantCommitted: 2,
		},
		{
			name:          "final flush fails too",
			maxBatch:      2,
			result:        func(int) error { return errors.New("unavailable") },
			wantCalls:     2,
			wantCommitted: 0, // redelivered after restart
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, Options{}, hooks{})
			r := mustReader(t, s, "r")
			mustAppend(t, s, []byte("a"), []byte("b"))
			clock := newFakeClock()
			calls := make(chan sinkCall, 10)
			ctx, cancel := context.WithCancel(context.Background())
			done := startConsume(ctx, r, recordingSink(r, calls, tt.result), ConsumeOptions{
				MaxBatch:     tt.maxBatch,
				FlushTimeout: time.Minute,
				After:        clock.After,
			})

			<-clock.timers // Consume is waiting: for the batch's age or to retry
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Consume = %v, want nil", err)
			}
			close(calls)
			var got []sinkCall
			for c := range calls {
				got = append(got, c)
			}
			if len(got) != tt.wantCalls {
				t.Fatalf("sink called %d times, want %d", len(got), tt.wantCalls)
			}
			final := got[len(got)-1]
			if !slices.Equal(final.seqs, []uint64{1, 2}) || final.ctxErr != nil || !final.hasDeadline {
				t.Fatalf("final flush got %v, ctx err %v, deadline %v; want [1 2] with a live, bounded ctx",
					final.seqs, final.ctxErr, final.hasDeadline)
			}
			if r.Committed() != tt.wantCommitted {
				t.Fatalf("cursor = %d, want %d", r.Committed(), tt.wantCommitted)
			}
		})
	}
}

func TestConsumeReturnsWhenSpoolCloses(t *testing.T) {
	s := openTest(t, Options{}, hooks{})
	r := mustReader(t, s, "r")
	done := startConsume(context.Background(), r, sinkFunc(func(context.Context, []Record) error { return nil }),
		ConsumeOptions{After: newFakeClock().After})
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Consume after Close = %v, want ErrClosed", err)
	}
}
