// Package poll waits for a condition by checking it at an interval: how
// tests and the fault suite wait on the state of servers, never with a
// fixed sleep.
package poll

import (
	"context"
	"fmt"
	"time"
)

// Until checks cond every interval until it holds, returns an error, ctx
// ends or within has passed; what names the condition in the error.
func Until(ctx context.Context, within, every time.Duration, what string, cond func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return fmt.Errorf("wait until %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait until %s: not within %v", what, within)
		case <-tick.C:
		}
	}
}
