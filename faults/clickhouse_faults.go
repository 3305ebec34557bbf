package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// clickHouseDownScenario: ClickHouse is stopped for a minute (a few
// seconds in the short form) under load, then started again. Webhooks must
// be accepted throughout and land in ClickHouse once after it is back.
func clickHouseDownScenario() Scenario {
	return Scenario{
		Name:  "clickhouse-down",
		About: "ClickHouse stopped under load, then started again",
		Run: func(ctx context.Context, e *Env) error {
			outage := time.Duration(e.Pick(60, 3)) * time.Second
			stop := e.Stream(ctx, 100)
			defer stop()
			if err := await(ctx, time.Minute, "load flowing", e.Ledger.AckedAtLeast(100)); err != nil {
				return err
			}
			e.CH.Kill()
			before := e.Ledger.Counts()
			e.Progress("ClickHouse stopped for %v", outage)
			if err := pause(ctx, outage); err != nil { // the outage itself
				return err
			}
			during := e.Ledger.Counts()
			if err := e.CH.Start(ctx); err != nil {
				return err
			}
			if err := await(ctx, time.Minute, "load flowing after the restart", e.Ledger.AckedAtLeast(100)); err != nil {
				return err
			}
			stop()
			acked, refused := during.Acked-before.Acked, during.Sent-before.Sent-(during.Acked-before.Acked)
			e.Note("ClickHouse down %v: %d webhooks acknowledged meanwhile, %d not", outage, acked, refused)
			e.Check(acked > 0 && refused == 0, "every webhook sent while ClickHouse was down was acknowledged")
			return nil
		},
	}
}

// clickHouseMidInsertScenario: ClickHouse is killed while the daemon's
// writer has an INSERT into call_events in flight (seen in
// system.processes), and started again at once; three times (once in the
// short form). The writer must retry the batch, and the retried rows must
// collapse to one in call_events FINAL.
func clickHouseMidInsertScenario() Scenario {
	return Scenario{
		Name:  "clickhouse-mid-insert",
		About: "ClickHouse killed in the middle of the writer's INSERT, restarted at once",
		Run: func(ctx context.Context, e *Env) error {
			restarts := e.Pick(3, 1)
			stop := e.Stream(ctx, 300)
			defer stop()
			caught := 0
			for i := range restarts {
				if err := await(ctx, time.Minute, "load flowing", e.Ledger.AckedAtLeast(200)); err != nil {
					return err
				}
				inFlight, err := killMidInsert(ctx, e)
				if err != nil {
					return err
				}
				if inFlight {
					caught++
				}
				e.Progress("restart %d/%d: ClickHouse killed (insert in flight: %v)", i+1, restarts, inFlight)
				if err := e.CH.Start(ctx); err != nil {
					return err
				}
			}
			if err := await(ctx, time.Minute, "load flowing after the restarts", e.Ledger.AckedAtLeast(200)); err != nil {
				return err
			}
			stop()
			e.Check(caught == restarts, "%d of %d kills hit an INSERT into call_events in flight", caught, restarts)
			return nil
		},
	}
}

// killMidInsert polls system.processes until an INSERT into call_events is
// running, then kills ClickHouse; after 30 s without one it kills it
// anyway and reports false.
func killMidInsert(ctx context.Context, e *Env) (bool, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{e.CH.Addr()}, DialTimeout: 2 * time.Second})
	if err != nil {
		return false, fmt.Errorf("open clickhouse: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		running, err := e.CH.InsertRunning(ctx, conn)
		if err != nil {
			return false, fmt.Errorf("read system.processes: %w", err)
		}
		if running {
			e.CH.Kill()
			return true, nil
		}
	}
	e.CH.Kill()
	return false, ctx.Err()
}
