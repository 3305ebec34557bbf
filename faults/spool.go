package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// spoolFullScenario: the spool is limited to 256 KiB (spool.max_bytes) and
// ClickHouse is stopped, so the spool fills up under load. The daemon must
// answer 503 with Retry-After — never a 2xx it cannot keep — and accept
// webhooks again once ClickHouse is back and the spool drains.
func spoolFullScenario() Scenario {
	return Scenario{
		Name:  "spool-full",
		About: "spool over spool.max_bytes while ClickHouse is away: 503 + Retry-After, then recovery",
		Config: func(_ *Env, c *DaemonConfig) error {
			c.SpoolMax, c.SpoolSegment = "256KiB", "16KiB"
			return nil
		},
		Run: fillSpool,
	}
}

// diskFullScenario: the spool's file system (a 1 MiB tmpfs;
// spool.max_bytes stays 1 GiB) is filled by another file under load, so
// appends fail with ENOSPC; the daemon must answer 503 with Retry-After,
// and accept webhooks again once the file is deleted. It needs the right
// to mount (root); elsewhere it is skipped.
func diskFullScenario() Scenario {
	return Scenario{
		Name:    "disk-full",
		About:   "the spool's file system (a 1 MiB tmpfs) filled by another file, then freed",
		Config:  mountSpoolTmpfs,
		Cleanup: unmountSpoolTmpfs,
		Run: func(ctx context.Context, e *Env) error {
			stop := e.Stream(ctx, 200)
			defer stop()
			if err := await(ctx, time.Minute, "load flowing", e.Ledger.AckedAtLeast(50)); err != nil {
				return err
			}
			ballast := filepath.Join(spoolDir(e), "ballast")
			size, err := fill(ballast)
			if err != nil {
				return err
			}
			e.Progress("file system filled with a %d KiB file", size>>10)
			if err := await(ctx, time.Minute, "200 503s", e.Ledger.RefusedAtLeast(200)); err != nil {
				return err
			}
			if err := os.Remove(ballast); err != nil {
				return err
			}
			e.Progress("file deleted")
			if err := await(ctx, time.Minute, "webhooks accepted again", e.Ledger.AckedAtLeast(200)); err != nil {
				return err
			}
			stop()
			checkRefusals(e)
			return nil
		},
	}
}

// diskFullSpoolScenario: the spool's own backlog fills its file system (a
// 1 MiB tmpfs) while ClickHouse is away; once ClickHouse is back the
// consumers catch up, segments are deleted, and the daemon must accept
// webhooks again by itself. Skipped where a tmpfs cannot be mounted.
func diskFullSpoolScenario() Scenario {
	return Scenario{
		Name:    "disk-full-spool",
		About:   "the spool's backlog fills its file system (a 1 MiB tmpfs) while ClickHouse is away",
		Config:  mountSpoolTmpfs,
		Cleanup: unmountSpoolTmpfs,
		Run:     fillSpool,
	}
}

func spoolDir(e *Env) string { return filepath.Join(e.Dir, "data", "spool") }

func mountSpoolTmpfs(e *Env, c *DaemonConfig) error {
	c.SpoolMax, c.SpoolSegment = "1GiB", "64KiB"
	dir := spoolDir(e)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: cannot mount a tmpfs (needs root): %v: %s", errSkip, err, out)
	}
	e.Note("spool on a 1 MiB tmpfs")
	return nil
}

func unmountSpoolTmpfs(e *Env) {
	if out, err := exec.Command("umount", spoolDir(e)).CombinedOutput(); err != nil {
		e.Note("umount %s: %v: %s", spoolDir(e), err, out)
	}
}

// fill writes path until the file system is full and returns its size.
func fill(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var n int64
	for {
		m, err := f.Write(buf)
		n += int64(m)
		if errors.Is(err, syscall.ENOSPC) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("fill %s: %w", path, err)
		}
	}
}

// checkRefusals checks that the daemon refused only with 503 + Retry-After.
func checkRefusals(e *Env) {
	lc := e.Ledger.Counts()
	e.Note("%d webhooks answered 503", lc.Refused[http.StatusServiceUnavailable])
	e.Check(lc.NoRetryAfter == 0, "every 503 carried Retry-After (%d did not)", lc.NoRetryAfter)
	e.Check(len(lc.Refused) == 1 && lc.Failed == 0, "refusals were 503s only (got %v, %d without an answer)", lc.Refused, lc.Failed)
}

func fillSpool(ctx context.Context, e *Env) error {
	stop := e.Stream(ctx, 200)
	defer stop()
	if err := await(ctx, time.Minute, "load flowing", e.Ledger.AckedAtLeast(50)); err != nil {
		return err
	}
	e.CH.Kill()
	e.Progress("ClickHouse stopped; waiting for the spool to fill")
	if err := await(ctx, 2*time.Minute, "the first 503", e.Ledger.RefusedAtLeast(1)); err != nil {
		return err
	}
	full := e.Ledger.Counts()
	if err := await(ctx, time.Minute, "200 more 503s", e.Ledger.RefusedAtLeast(200)); err != nil {
		return err
	}
	e.Progress("spool full; starting ClickHouse")
	if err := e.CH.Start(ctx); err != nil {
		return err
	}
	if err := await(ctx, time.Minute, "webhooks accepted again", e.Ledger.AckedAtLeast(200)); err != nil {
		return err
	}
	stop()
	e.Note("spool full after %d acknowledged webhooks", full.Acked)
	checkRefusals(e)
	return nil
}
