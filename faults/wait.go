package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/callpulse/callpulse/internal/poll"
)

// pollEvery is how often waitFor checks its condition.
const pollEvery = 20 * time.Millisecond

// waitFor checks cond until it holds, returns an error, ctx ends or
// within has passed. It is how the harness waits on the state of the
// daemon, ClickHouse and the CRM: never a fixed sleep.
func waitFor(ctx context.Context, within time.Duration, what string, cond func(ctx context.Context) (bool, error)) error {
	return waitForEvery(ctx, within, pollEvery, what, cond)
}

// waitForEvery is waitFor checking every interval.
func waitForEvery(ctx context.Context, within, every time.Duration, what string, cond func(ctx context.Context) (bool, error)) error {
	return poll.Until(ctx, within, every, what, cond)
}

// await waits for ch to close, ctx to end or within to pass.
func await(ctx context.Context, within time.Duration, what string, ch <-chan struct{}) error {
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait until %s: %w", what, ctx.Err())
	case <-t.C:
		return fmt.Errorf("wait until %s: not within %v", what, within)
	}
}
