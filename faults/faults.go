// Package faults is callpulse's fault suite: each scenario runs the real
// daemon (`callpulse serve`, a child process) against a private ClickHouse
// server and an amoCRM emulator on loopback, drives webhook load with
// loadgen while it injects one kind of fault — the daemon killed with
// SIGKILL, ClickHouse stopped or killed mid-insert, CRM error storms,
// slow answers and connection resets, a full spool, re-delivered and
// shuffled webhooks, skewed PBX clocks — and ends by reconciling: every
// webhook answered 2xx is in call_events FINAL exactly once, every call
// ClickHouse holds is on a CRM card exactly once (and every unknown caller
// has one lead). cmd/callpulse-faults (make faults) runs it.
//
// Waits are on conditions (the ledger of acknowledgements, ClickHouse,
// the daemon's metrics, the emulator's state), each with a deadline; the
// only timed waits are the faults' own durations and the PBX's retry
// delay.
package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
)

// Options configure a run.
type Options struct {
	Daemon    string   // the callpulse binary
	Dir       string   // work directory: ClickHouse, daemon data and logs
	Short     bool     // the CI form: fewer cycles, shorter outages, fewer calls
	Cycles    int      // kill -9 cycles (0: 20, or 3 with Short)
	Scenarios []string // names to run (none: all)
	Seed      uint64   // of the traffic and the fault timing (0: random)
	Log       io.Writer
}

// Scenario is one fault and the load it is injected under.
type Scenario struct {
	Name  string
	About string
	// Config adjusts the daemon's configuration (nil: defaults).
	Config func(e *Env, c *DaemonConfig) error
	// Run drives load and the fault with the daemon started; the harness
	// then re-delivers what was refused, waits for the daemon to finish,
	// stops it and reconciles.
	Run func(ctx context.Context, e *Env) error
	// Cleanup undoes what Config set up, after the daemon has stopped.
	Cleanup func(e *Env)
}

// Scenarios lists every scenario, in the order they run.
func Scenarios() []Scenario {
	return []Scenario{
		killScenario(), clickHouseDownScenario(), clickHouseMidInsertScenario(), crmScenario(),
		spoolFullScenario(), diskFullScenario(), diskFullSpoolScenario(), redeliveryScenario(), clockSkewScenario(),
	}
}

// Env is what a scenario works with.
type Env struct {
	Opts    Options
	CH      *ClickHouse
	Daemon  *Daemon
	CRM     *amocrmtest.Server
	Ledger  *Ledger
	Traffic Traffic
	Rand    *mathrand.Rand
	Dir     string // the scenario's own directory
	db      string

	nextCall atomic.Int64
	notes    []string
	failed   []string
}

// Note adds a line to the scenario's report.
func (e *Env) Note(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}

// Check notes a property the scenario must have; the run fails if not ok.
func (e *Env) Check(ok bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !ok {
		e.failed = append(e.failed, msg)
		msg = "FAILED: " + msg
	}
	e.notes = append(e.notes, msg)
}

// Progress prints a progress line.
func (e *Env) Progress(format string, args ...any) {
	fmt.Fprintf(e.Opts.Log, "    %s\n", fmt.Sprintf(format, args...))
}

// Pick returns full, or short in the short form.
func (e *Env) Pick(full, short int) int {
	if e.Opts.Short {
		return short
	}
	return full
}

// Result is the outcome of one scenario.
type Result struct {
	Name    string
	Ledger  LedgerCounts
	Counts  Counts
	Notes   []string
	Failed  []string // failed scenario checks
	Err     error    // the scenario could not be carried out
	Elapsed time.Duration
}

// Skipped reports that the scenario cannot run on this machine.
func (r Result) Skipped() bool { return errors.Is(r.Err, errSkip) }

// OK reports whether the scenario passed, or was skipped outside CI: with
// CI=true a scenario this machine cannot run fails, as a test missing its
// server does.
func (r Result) OK() bool {
	if r.Skipped() {
		return os.Getenv("CI") != "true"
	}
	return r.Err == nil && len(r.Failed) == 0 && r.Counts.OK()
}

// Run starts a private ClickHouse and runs the selected scenarios one
// after another.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Cycles == 0 {
		opts.Cycles = 20
		if opts.Short {
			opts.Cycles = 3
		}
	}
	if opts.Seed == 0 {
		opts.Seed = mathrand.Uint64()
	}
	run := Scenarios()
	if len(opts.Scenarios) > 0 {
		byName := map[string]Scenario{}
		for _, s := range run {
			byName[s.Name] = s
		}
		run = nil
		for _, name := range opts.Scenarios {
			s, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("unknown scenario %q", name)
			}
			run = append(run, s)
		}
	}
	fmt.Fprintf(opts.Log, "==> seed %d (-seed repeats the traffic and fault choices); private ClickHouse under %s\n", opts.Seed, opts.Dir)
	ch, err := StartClickHouse(ctx, filepath.Join(opts.Dir, "clickhouse"))
	if err != nil {
		return nil, err
	}
	defer ch.Kill()
	var results []Result
	for i, s := range run {
		fmt.Fprintf(opts.Log, "==> %s: %s\n", s.Name, s.About)
		r := runScenario(ctx, opts, ch, s, opts.Seed+uint64(i))
		results = append(results, r)
		fmt.Fprintf(opts.Log, "    %s in %v\n", verdict(r), r.Elapsed.Round(time.Second))
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	return results, nil
}

func runScenario(ctx context.Context, opts Options, ch *ClickHouse, s Scenario, seed uint64) Result {
	start := time.Now()
	e := &Env{Opts: opts, CH: ch, Dir: filepath.Join(opts.Dir, s.Name), Rand: mathrand.New(mathrand.NewPCG(seed, 1)),
		db: "faults_" + strings.ReplaceAll(s.Name, "-", "_") + "_" + randomHex(4)}
	e.Traffic = Traffic{Prefix: s.Name + "-" + randomHex(3), Now: time.Now(), Seed: seed}
	crmToken := randomToken()
	e.CRM = amocrmtest.New(amocrmtest.Options{Token: crmToken, Rate: 1000, Burst: 1000})
	defer e.CRM.Close()
	e.Ledger = NewLedger(func(c Call) {
		if c.Known {
			e.CRM.KnowPhone(c.Phone)
		}
	})
	counts, err := e.run(ctx, s, crmToken)
	return Result{Name: s.Name, Ledger: e.Ledger.Counts(), Counts: counts, Notes: e.notes, Failed: e.failed,
		Err: err, Elapsed: time.Since(start)}
}

func (e *Env) run(ctx context.Context, s Scenario, crmToken string) (Counts, error) {
	if !e.CH.Running() {
		if err := e.CH.Start(ctx); err != nil {
			return Counts{}, err
		}
	}
	cfg := DaemonConfig{ClickHouse: e.CH.Addr(), Database: e.db, CRM: e.CRM.URL, CRMToken: crmToken}
	if s.Config != nil {
		if err := s.Config(e, &cfg); err != nil {
			return Counts{}, err
		}
	}
	if s.Cleanup != nil {
		defer s.Cleanup(e)
	}
	d, err := NewDaemon(e.Opts.Daemon, e.Dir, cfg)
	if err != nil {
		return Counts{}, err
	}
	e.Daemon = d
	defer d.Kill()
	if err := d.Start(ctx); err != nil {
		return Counts{}, err
	}
	if err := s.Run(ctx, e); err != nil {
		if ctx.Err() != nil {
			return Counts{}, err
		}
		// The fault was not survived as it should be; still reconcile what
		// was acknowledged, without re-delivering.
		e.Check(false, "%v", err)
		e.noteSpool(ctx)
		return e.settle(ctx, false)
	}
	return e.settle(ctx, true)
}

// pause waits d, as a fault's duration; it is not a synchronisation.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errSkip marks a scenario that cannot run on this machine.
var errSkip = errors.New("skipped")

func verdict(r Result) string {
	switch {
	case r.Skipped() && r.OK():
		return "SKIP"
	case r.OK():
		return "PASS"
	}
	return "FAIL"
}
