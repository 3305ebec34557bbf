package crmsync

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"
)

// Throttle is the token bucket of one CRM account (Bitrix24: burst 50,
// 2 requests/s; amoCRM: 7 requests/s). A CRM client takes a token before
// every HTTP request it sends to the account — pushes, attachments, tasks,
// pulls and the several requests one push may need — so the account never
// sees more than its limit after the first burst. It runs on an injectable
// clock, so tests can run in virtual time.
type Throttle struct {
	lim   *rate.Limiter
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// NewThrottle returns a bucket of burst tokens refilled at r per second.
// now and after are the clock (nil: time.Now, time.After).
func NewThrottle(r rate.Limit, burst int, now func() time.Time, after func(time.Duration) <-chan time.Time) (*Throttle, error) {
	if r <= 0 || burst < 1 {
		return nil, errors.New("crmsync: throttle rate must be positive and burst at least 1")
	}
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	return &Throttle{lim: rate.NewLimiter(r, burst), now: now, after: after}, nil
}

// Wait blocks until a token is available or ctx is done; a token reserved
// for a cancelled wait is given back.
func (t *Throttle) Wait(ctx context.Context) error {
	now := t.now()
	r := t.lim.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("crmsync: throttle burst is zero")
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		r.CancelAt(t.now())
		return ctx.Err()
	case <-t.after(d):
		return nil
	}
}
