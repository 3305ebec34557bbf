package faults

import (
	"context"
	"fmt"
	"time"
)

// killScenario: the daemon is killed with SIGKILL at random moments under
// load and started again, Options.Cycles times. A random moment is after
// a random number (1 to 400) of acknowledged webhooks since the start,
// which lands the kill anywhere in request handling, group commit, a
// writer batch or a CRM push — including the start-up catch-up.
func killScenario() Scenario {
	return Scenario{
		Name:  "kill-9",
		About: "the daemon killed with SIGKILL at random moments under load",
		Run: func(ctx context.Context, e *Env) error {
			stop := e.Stream(ctx, 300)
			defer stop()
			for cycle := range e.Opts.Cycles {
				after := 1 + e.Rand.IntN(400)
				if err := await(ctx, time.Minute, fmt.Sprintf("%d more webhooks acknowledged", after), e.Ledger.AckedAtLeast(after)); err != nil {
					return err
				}
				e.Daemon.Kill()
				e.Progress("cycle %d/%d: killed after %d acknowledgements", cycle+1, e.Opts.Cycles, after)
				if err := e.Daemon.Start(ctx); err != nil {
					return err
				}
			}
			stop()
			lc := e.Ledger.Counts()
			e.Note("%d kills under 300 requests/s; %d requests got no answer while the daemon was down or dying", e.Opts.Cycles, lc.Failed)
			e.Check(lc.Failed > 0, "some requests hit the dead daemon (else the kills were not under load)")
			return nil
		},
	}
}
