package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Deterministic jitter sources: the smallest and largest possible pick.
func lowest(int64) int64    { return 0 }
func highest(n int64) int64 { return n - 1 }

func TestNextGrowsAndCaps(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		name string
		rnd  func(int64) int64
		want []time.Duration
	}{
		{
			name: "upper bound",
			rnd:  highest,
			want: []time.Duration{
				100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
				800 * time.Millisecond, time.Second, time.Second, time.Second,
			},
		},
		{
			name: "lower bound is half the ceiling",
			rnd:  lowest,
			want: []time.Duration{
				50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
				400 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(p)
			b.Int64N = tt.rnd
			for i, want := range tt.want {
				if got := b.Next(0); got != want {
					t.Fatalf("attempt %d: Next = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestNextManyAttemptsDoesNotOverflow(t *testing.T) {
	b := New(Policy{Base: time.Nanosecond, Max: time.Hour})
	b.Int64N = highest
	var d time.Duration
	for range 10_000 {
		d = b.Next(0)
		if d <= 0 || d > time.Hour {
			t.Fatalf("Next = %v, want in (0, 1h]", d)
		}
	}
	if d != time.Hour {
		t.Fatalf("after many attempts Next = %v, want the cap 1h", d)
	}
}

func TestNextJitterBounds(t *testing.T) {
	b := New(Policy{Base: 64 * time.Millisecond, Max: 64 * time.Millisecond})
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := b.Next(0)
		if d < 32*time.Millisecond || d > 64*time.Millisecond {
			t.Fatalf("Next = %v, want within [32ms, 64ms]", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatalf("1000 draws gave %d distinct delays; jitter is not applied", len(seen))
	}
}

func TestReset(t *testing.T) {
	b := New(Policy{Base: 10 * time.Millisecond, Max: time.Second})
	b.Int64N = highest
	for range 5 {
		b.Next(0)
	}
	b.Reset()
	if got := b.Next(0); got != 10*time.Millisecond {
		t.Fatalf("Next after Reset = %v, want Base 10ms", got)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name     string
		p        Policy
		wantBase time.Duration
		wantMax  time.Duration
	}{
		{"zero", Policy{}, DefaultBase, DefaultMax},
		{"max below base", Policy{Base: time.Second, Max: time.Millisecond}, time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.p)
			if b.policy.Base != tt.wantBase || b.policy.Max != tt.wantMax {
				t.Fatalf("policy = %+v, want Base %v Max %v", b.policy, tt.wantBase, tt.wantMax)
			}
		})
	}
}

// fakeAfter records requested delays and returns channels the test fires.
type fakeAfter struct {
	requested []time.Duration
	fire      bool
}

func (f *fakeAfter) after(d time.Duration) <-chan time.Time {
	f.requested = append(f.requested, d)
	c := make(chan time.Time, 1)
	if f.fire {
		c <- time.Time{}
	}
	return c
}

func TestWaitForHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		want       time.Duration
	}{
		{"computed wins", 10 * time.Millisecond, 100 * time.Millisecond},
		{"retry-after wins, even above Max", 5 * time.Minute, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := &fakeAfter{fire: true}
			b := New(Policy{Base: 100 * time.Millisecond, Max: time.Second})
			b.Int64N, b.After = highest, fa.after
			if err := b.WaitFor(context.Background(), tt.retryAfter); err != nil {
				t.Fatalf("WaitFor: %v", err)
			}
			if len(fa.requested) != 1 || fa.requested[0] != tt.want {
				t.Fatalf("slept %v, want [%v]", fa.requested, tt.want)
			}
		})
	}
}

func TestWaitCancelled(t *testing.T) {
	fa := &fakeAfter{fire: false} // the timer never fires
	b := New(Policy{})
	b.After = fa.after
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on cancelled ctx = %v, want context.Canceled", err)
	}
}
