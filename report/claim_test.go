package report

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/warehouse"
)

func TestReadState(t *testing.T) {
	lease := time.Hour
	claim := func(tok string, age time.Duration) warehouse.ReportMark {
		return warehouse.ReportMark{Token: tok, State: warehouse.ReportClaimed, Age: age}
	}
	mark := func(tok string, s warehouse.ReportMarkState) warehouse.ReportMark {
		return warehouse.ReportMark{Token: tok, State: s}
	}
	tests := []struct {
		name  string
		marks []warehouse.ReportMark
		sent  bool
		live  []string
	}{
		{"empty", nil, false, nil},
		{"one live claim", []warehouse.ReportMark{claim("a", time.Minute)}, false, []string{"a"}},
		{"sent", []warehouse.ReportMark{claim("a", time.Minute), mark("a", warehouse.ReportSent)}, true, nil},
		{"released", []warehouse.ReportMark{claim("a", time.Minute), mark("a", warehouse.ReportReleased)}, false, nil},
		{"expired", []warehouse.ReportMark{claim("a", lease)}, false, nil},
		{"collision", []warehouse.ReportMark{claim("a", 0), claim("b", 0)}, false, []string{"a", "b"}},
		{"forced re-send in progress", []warehouse.ReportMark{claim("a", 2*time.Hour), mark("a", warehouse.ReportSent),
			claim("b", time.Second)}, true, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := readState(tt.marks, lease)
			if st.sent != tt.sent || len(st.live) != len(tt.live) {
				t.Fatalf("state %+v, want sent %v live %v", st, tt.sent, tt.live)
			}
			for _, tok := range tt.live {
				if !st.live[tok] {
					t.Errorf("claim %s not live", tok)
				}
			}
		})
	}
}

// memLedger is an in-memory ledger; afterClaim, if set, runs right after a
// claim is appended (to interleave another attempt there).
type memLedger struct {
	mu         sync.Mutex
	marks      []warehouse.ReportMark
	afterClaim func()
}

func (l *memLedger) AddReportMark(_ context.Context, _, _ string, m warehouse.ReportMark) error {
	l.mu.Lock()
	l.marks = append(l.marks, m)
	hook := l.afterClaim
	l.mu.Unlock()
	if hook != nil && m.State == warehouse.ReportClaimed {
		hook()
	}
	return nil
}

func (l *memLedger) ReportMarks(context.Context, string, string) ([]warehouse.ReportMark, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]warehouse.ReportMark(nil), l.marks...), nil
}

func (l *memLedger) LastReportSent(context.Context) (time.Time, error) { return time.Time{}, nil }

// instant is a backoff timer that fires at once, so tests never sleep.
func instant(time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}

// TestClaimCollision interleaves two attempts the worst way: each appends
// its claim before the other reads. Neither may win in that round; the
// first to retry alone wins, and the other then sees it.
func TestClaimCollision(t *testing.T) {
	ctx := context.Background()
	l := &memLedger{}
	a := newClaimer(l, ClaimOptions{Replica: "a", Rounds: 3})
	b := newClaimer(l, ClaimOptions{Replica: "b", Rounds: 3})
	a.after, b.after = instant, instant
	var bErr error
	l.afterClaim = func() {
		l.afterClaim = nil // only the first claim is interleaved
		_, _, bErr = b.claim(ctx, "2026-11-15", "x@example.test", false)
	}
	cl, _, err := a.claim(ctx, "2026-11-15", "x@example.test", false)
	if err != nil {
		t.Fatalf("a: %v", err)
	}
	// b ran inside a's first round: it saw a's claim live and gave up
	// after its rounds, or collided; either way it holds nothing.
	if !errors.Is(bErr, ErrClaimedElsewhere) {
		t.Errorf("b: %v, want ErrClaimedElsewhere", bErr)
	}
	if err := cl.Sent(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.claim(ctx, "2026-11-15", "x@example.test", false); !errors.Is(err, ErrAlreadySent) {
		t.Errorf("b after a sent: %v, want ErrAlreadySent", err)
	}
	if _, _, err := b.claim(ctx, "2026-11-15", "x@example.test", true); err != nil {
		t.Errorf("b forced: %v, want a claim", err)
	}
}

// TestClaimConcurrent races many attempts on one ledger: exactly one wins.
func TestClaimConcurrent(t *testing.T) {
	ctx := context.Background()
	l := &memLedger{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		c := newClaimer(l, ClaimOptions{Rounds: 50, Backoff: fastBackoff})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cl, _, err := c.claim(ctx, "2026-11-15", "x@example.test", false); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
				_ = cl.Sent(ctx)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d attempts won, want exactly 1", won)
	}
}
