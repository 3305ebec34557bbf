package recordings

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/backoff"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// t0 is when the test calls' events were received.
var t0 = time.Date(2026, 11, 20, 6, 15, 0, 0, time.UTC)

// testProvider may fetch from 127.0.0.1, where httptest servers listen.
const testProvider = "test"

// fakeClock is a manual clock: time moves only when the test says.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan struct{} // closed and replaced whenever a waiter is added
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, added: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	close(c.added)
	c.added = make(chan struct{})
	return ch
}

// Set moves the clock to t and fires the waiters that are due.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	c.waiters = slices.DeleteFunc(c.waiters, func(w fakeWaiter) bool {
		if w.at.After(c.now) {
			return false
		}
		w.ch <- c.now
		return true
	})
}

// NextWaiter blocks until someone waits on the clock and returns the
// earliest deadline.
func (c *fakeClock) NextWaiter() time.Time {
	for {
		c.mu.Lock()
		added := c.added
		if len(c.waiters) > 0 {
			at := slices.MinFunc(c.waiters, func(a, b fakeWaiter) int { return a.at.Compare(b.at) }).at
			c.mu.Unlock()
			return at
		}
		c.mu.Unlock()
		<-added
	}
}

// AdvanceToNextWaiter moves the clock to NextWaiter and returns it.
func (c *fakeClock) AdvanceToNextWaiter() time.Time {
	at := c.NextWaiter()
	c.Set(at)
	return at
}

// fakeCatalog is an in-memory recordings table.
type fakeCatalog struct {
	mu   sync.Mutex
	rows map[[2]string]warehouse.Recording
	err  error // returned by every call when set
}

func newFakeCatalog() *fakeCatalog {
	return &fakeCatalog{rows: map[[2]string]warehouse.Recording{}}
}

func (c *fakeCatalog) InsertRecording(_ context.Context, r warehouse.Recording) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.rows[[2]string{r.Provider, r.CallID}] = r
	return nil
}

func (c *fakeCatalog) Recording(_ context.Context, provider, callID string) (warehouse.Recording, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return warehouse.Recording{}, false, c.err
	}
	r, ok := c.rows[[2]string{provider, callID}]
	return r, ok, nil
}

func (c *fakeCatalog) RecordedCalls(_ context.Context, keys []warehouse.CallKey) (map[warehouse.CallKey]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	out := map[warehouse.CallKey]bool{}
	for _, k := range keys {
		if _, ok := c.rows[[2]string{k.Provider, k.CallID}]; ok {
			out[k] = true
		}
	}
	return out, nil
}

func (c *fakeCatalog) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

func (c *fakeCatalog) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.rows)
}

// testEnv is a Store with a fake clock and catalog in a temp dir. By default
// provider "test" may fetch from 127.0.0.1 (AllowPrivate): tests of the
// guard itself turn that off.
type testEnv struct {
	s       *Store
	clock   *fakeClock
	catalog *fakeCatalog
	opts    Options
}

func newEnv(t *testing.T, modify func(*Options)) *testEnv {
	t.Helper()
	clock := newFakeClock(t0)
	catalog := newFakeCatalog()
	opts := Options{
		Dir:          t.TempDir(),
		Catalog:      catalog,
		AllowedHosts: map[string][]string{testProvider: {"127.0.0.1", "rec.example.com", "x.example"}},
		AllowPrivate: []string{testProvider},
		Retry:        backoff.Policy{Base: time.Minute, Max: 10 * time.Minute},
		Now:          clock.Now,
		After:        clock.After,
	}
	if modify != nil {
		modify(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &testEnv{s: s, clock: clock, catalog: catalog, opts: opts}
}

// reopen closes the store and opens a new one on the same directory.
func (e *testEnv) reopen(t *testing.T) {
	t.Helper()
	if err := e.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err := New(e.opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	e.s = s
}

// write hands events to the sink as spool records.
func (e *testEnv) write(t *testing.T, events ...call.Event) {
	t.Helper()
	if err := e.s.Write(context.Background(), records(t, events...)); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// runDue attempts every job due now, one at a time, and returns the
// outcomes by job key.
func (e *testEnv) runDue(t *testing.T) []outcome {
	t.Helper()
	jobs, _, err := e.s.jobs.due(e.clock.Now(), 1<<30, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []outcome
	e.s.onAttempt = func(_ string, o outcome) { out = append(out, o) }
	defer func() { e.s.onAttempt = nil }()
	for _, j := range jobs {
		if err := e.s.attempt(context.Background(), j); err != nil {
			t.Fatalf("attempt: %v", err)
		}
	}
	return out
}

// fetchOnce queues one event and makes its first attempt.
// fetchOnce queues a job for ev, bypassing Write's check of the URL (the
// fetch path must refuse what Write would not queue: a job queued before
// recording_hosts changed, a redirect), and runs it once.
func (e *testEnv) fetchOnce(t *testing.T, ev call.Event) outcome {
	t.Helper()
	e.enqueue(t, ev)
	e.clock.Set(ev.ReceivedAt.Add(e.s.opts.Delay))
	out := e.runDue(t)
	if len(out) != 1 {
		t.Fatalf("attempts = %d, want 1", len(out))
	}
	return out[0]
}

// enqueue stores the job of ev as Write would, without Write's checks.
func (e *testEnv) enqueue(t *testing.T, events ...call.Event) {
	t.Helper()
	var jobs []job
	for _, ev := range events {
		jobs = append(jobs, newJob(ev, e.s.opts.Delay))
	}
	if _, err := e.s.jobs.add(jobs); err != nil {
		t.Fatal(err)
	}
}

func (e *testEnv) pending(t *testing.T) []job {
	t.Helper()
	jobs, err := e.s.jobs.pendingJobs()
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func (e *testEnv) dead(t *testing.T) []DeadJob {
	t.Helper()
	d, err := e.s.DeadJobs()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// blobFiles lists the files under blobs/, temporary ones included.
func (e *testEnv) blobFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	root := filepath.Join(e.opts.Dir, "blobs")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func records(t *testing.T, events ...call.Event) []spool.Record {
	t.Helper()
	recs := make([]spool.Record, len(events))
	for i, e := range events {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = spool.Record{Seq: uint64(i + 1), Data: b}
	}
	return recs
}

// urlEvent is a "recording ready" event with a URL.
func urlEvent(callID, url string) call.Event {
	return call.Event{Provider: testProvider, CallID: callID, EventKey: "record", ReceivedAt: t0,
		ClientPhone: "+79161234567", RecordingURL: url}
}

// refEvent is a "recording ready" event with a provider reference.
func refEvent(provider, callID, ref string) call.Event {
	return call.Event{Provider: provider, CallID: callID, EventKey: "record", ReceivedAt: t0, RecordingRef: ref}
}

// server is an httptest server whose requests are counted.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	hits int
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits++
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveBytes answers 200 with body and content type.
func serveBytes(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		} else {
			w.Header()["Content-Type"] = nil // keep net/http from sniffing one
		}
		_, _ = w.Write(body)
	}
}

// stubLocator returns a fixed request or error.
type stubLocator struct {
	url string
	err error
}

func (l stubLocator) Locate(ctx context.Context, _ *http.Client, e call.Event) (*http.Request, error) {
	if l.err != nil {
		return nil, l.err
	}
	return http.NewRequestWithContext(ctx, http.MethodGet, l.url+"/"+e.RecordingRef, nil)
}

func errorContains(err error, sub string) bool {
	return err != nil && strings.Contains(err.Error(), sub)
}

var errBoom = errors.New("boom")
