// Package backoff computes jittered, capped exponential retry delays.
//
// A Backoff is created per retry loop. Each Wait (or Next) after a failure
// doubles the delay ceiling, starting at Policy.Base and capped at Policy.Max,
// and picks a delay in [ceiling/2, ceiling] ("equal jitter") so that many
// retrying clients spread out while the delay still grows monotonically on
// average. Reset after a success starts again from Base.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Default values used for zero fields of Policy.
const (
	DefaultBase = 100 * time.Millisecond
	DefaultMax  = 30 * time.Second
)

// Policy configures a Backoff. The zero value is usable and means
// DefaultBase and DefaultMax.
type Policy struct {
	Base time.Duration // ceiling of the first delay
	Max  time.Duration // cap on every computed delay
}

// withDefaults fills zero fields and keeps Max >= Base.
func (p Policy) withDefaults() Policy {
	if p.Base <= 0 {
		p.Base = DefaultBase
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	p.Max = max(p.Max, p.Base)
	return p
}

// Backoff tracks consecutive failures of one retry loop. It is not safe for
// concurrent use.
type Backoff struct {
	policy  Policy
	attempt int // failures since the last Reset

	// After returns a channel that receives once d has elapsed. Nil means
	// time.After. Tests inject a fake so they never sleep.
	After func(d time.Duration) <-chan time.Time

	// Int64N returns a uniform random number in [0, n). Nil means
	// math/rand/v2.Int64N. Tests inject a deterministic source.
	Int64N func(n int64) int64
}

// New returns a Backoff for p; zero fields of p take their defaults.
func New(p Policy) *Backoff {
	return &Backoff{policy: p.withDefaults()}
}

// Next records one more failure and returns how long to wait before the next
// attempt: an equal-jitter delay in [c/2, c], where c = min(Base*2^n, Max) and
// n counts failures since Reset. If retryAfter (e.g. an HTTP Retry-After the
// peer asked for) is longer, retryAfter is returned instead, uncapped: the
// peer's explicit request wins over the local cap.
func (b *Backoff) Next(retryAfter time.Duration) time.Duration {
	ceiling := b.policy.Base
	for i := 0; i < b.attempt && ceiling < b.policy.Max; i++ {
		ceiling *= 2 // cannot overflow: ceiling < Max before doubling
	}
	ceiling = min(ceiling, b.policy.Max)
	b.attempt++

	half := ceiling / 2
	d := half + b.int64n(int64(ceiling-half)+1)
	return max(d, retryAfter)
}

// Reset forgets all failures; call it after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Wait sleeps for Next(0) or until ctx is done, whichever comes first, and
// returns ctx.Err() in the latter case.
func (b *Backoff) Wait(ctx context.Context) error { return b.WaitFor(ctx, 0) }

// WaitFor is Wait honouring an explicit retry-after: it sleeps for
// Next(retryAfter), i.e. max(retryAfter, computed delay).
func (b *Backoff) WaitFor(ctx context.Context, retryAfter time.Duration) error {
	d := b.Next(retryAfter)
	after := b.After
	if after == nil {
		after = time.After
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-after(d):
		return nil
	}
}

func (b *Backoff) int64n(n int64) time.Duration {
	if b.Int64N != nil {
		return time.Duration(b.Int64N(n))
	}
	return time.Duration(rand.Int64N(n))
}
