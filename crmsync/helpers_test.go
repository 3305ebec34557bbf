package crmsync_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/amocrm"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

const token = "long-lived-secret-7f3a"

var t0 = time.Date(2024, 5, 14, 7, 0, 0, 0, time.UTC)

// vclock is a virtual clock: After advances it at once, so the outbox and
// the emulator's token buckets run in virtual time and tests never sleep.
type vclock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *vclock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *vclock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.t = c.t.Add(d)
	}
	ch := make(chan time.Time, 1)
	ch <- c.t
	return ch
}

// catalog is a recordings catalog whose recordings tests add.
type catalog struct {
	mu  sync.Mutex
	has map[string]bool
	all bool
	// after makes a call's recording appear at its n-th lookup.
	after   map[string]int
	lookups map[string]int
}

func (c *catalog) add(provider, callID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.has[crmsync.CallKey(provider, callID)] = true
}

func (c *catalog) Recording(_ context.Context, provider, callID string) (warehouse.Recording, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := crmsync.CallKey(provider, callID)
	c.lookups[k]++
	if n, ok := c.after[k]; ok && c.lookups[k] >= n {
		c.has[k] = true
	}
	if c.all || c.has[k] {
		return warehouse.Recording{Provider: provider, CallID: callID}, true, nil
	}
	return warehouse.Recording{}, false, nil
}

func recordingURL(provider, callID string) string {
	return "https://callpulse.example.com/api/v1/recordings/" + provider + "/" + callID
}

// rig is an outbox pushing to an amoCRM emulator.
type rig struct {
	clock   *vclock
	srv     *amocrmtest.Server
	amo     *amocrm.Client
	cat     *catalog
	path    string
	reg     *prometheus.Registry
	ob      *crmsync.Outbox
	attempt chan struct{}
	stop    func()
	clients crmsync.Clients // nil: repeat leads off
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{clock: &vclock{t: t0}, cat: &catalog{has: map[string]bool{}, after: map[string]int{}, lookups: map[string]int{}}, path: t.TempDir() + "/outbox.db"}
	r.srv = amocrmtest.New(amocrmtest.Options{Token: token, Now: r.clock.Now})
	t.Cleanup(r.srv.Close)
	var err error
	throttle, err := crmsync.NewThrottle(7, 7, r.clock.Now, r.clock.After)
	if err != nil {
		t.Fatal(err)
	}
	r.amo, err = amocrm.New(amocrm.Options{BaseURL: r.srv.URL, Token: token, CreateLeads: true, Throttle: throttle})
	if err != nil {
		t.Fatal(err)
	}
	r.open(t)
	return r
}

// open opens the outbox (again) and starts Run.
func (r *rig) open(t *testing.T) {
	t.Helper()
	r.reg = prometheus.NewRegistry()
	ob, err := crmsync.New(crmsync.Options{
		Path:         r.path,
		Targets:      []crmsync.Target{{Pusher: r.amo, Workers: 1, Users: map[string]string{"101": "6543210"}}},
		Catalog:      r.cat,
		RecordingURL: recordingURL,
		Clients:      r.clients,
		Metrics:      crmsync.NewMetrics(r.reg),
		Now:          r.clock.Now,
		After:        r.clock.After,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.ob = ob
	r.attempt = make(chan struct{}, 1)
	ob.SetOnAttempt(func() {
		select {
		case r.attempt <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := ob.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(r.stop)
}

func (r *rig) restart(t *testing.T) {
	t.Helper()
	r.stop()
	r.open(t)
}

// waitUntil waits for attempts until cond holds. The deadline only guards
// against a hung test; no behaviour depends on it.
func (r *rig) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for !cond() {
		select {
		case <-r.attempt:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (r *rig) idle() bool {
	n, err := r.ob.Pending()
	return err == nil && n == 0
}

// write hands events to the outbox as one spool batch.
func (r *rig) write(t *testing.T, events ...call.Event) {
	t.Helper()
	recs := make([]spool.Record, len(events))
	for i, e := range events {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = spool.Record{Seq: uint64(i + 1), Data: b}
	}
	if err := r.ob.Write(context.Background(), recs); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// answeredCall, missedCall and busyCall are the events of three calls.
func answeredCall(id, phone string) []call.Event {
	return []call.Event{
		{Provider: "generic", CallID: id, EventKey: "start", ReceivedAt: t0, Direction: call.DirectionInbound,
			StartedAt: t0, ClientPhone: phone, LinePhone: "+74951234567", Manager: "101"},
		{Provider: "generic", CallID: id, EventKey: "end", ReceivedAt: t0.Add(2 * time.Minute), Direction: call.DirectionInbound,
			StartedAt: t0, AnsweredAt: t0.Add(10 * time.Second), EndedAt: t0.Add(142 * time.Second), Status: call.StatusAnswered,
			ClientPhone: phone, Manager: "101", ManagerRank: call.ManagerAnswered},
	}
}

func missedCall(id, phone string) []call.Event {
	return []call.Event{{Provider: "generic", CallID: id, EventKey: "end", ReceivedAt: t0, Direction: call.DirectionInbound,
		StartedAt: t0, EndedAt: t0.Add(20 * time.Second), Status: call.StatusMissed, ClientPhone: phone,
		LinePhone: "+74951234567", Manager: "101"}}
}

func busyCall(id, phone string) []call.Event {
	return []call.Event{{Provider: "generic", CallID: id, EventKey: "end", ReceivedAt: t0, Direction: call.DirectionOutbound,
		StartedAt: t0, EndedAt: t0.Add(5 * time.Second), Status: call.StatusBusy, ClientPhone: phone, Manager: "102"}}
}
