package recordings

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/warehouse"
)

// startRun runs env's store and returns a channel of attempt outcomes and
// a function that stops Run and checks it returned nil (called at the end
// of the test if not before).
func startRun(t *testing.T, env *testEnv) (<-chan outcome, func()) {
	t.Helper()
	attempts := make(chan outcome, 64)
	env.s.onAttempt = func(_ string, o outcome) { attempts <- o }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return attempts, stop
}

// TestRunDelayedAvailability: the recording 404s three times, then
// appears; it is fetched once, catalogued in ClickHouse, and the job is gone.
func TestRunDelayedAvailability(t *testing.T) {
	ctx := context.Background()
	db, err := warehouse.Open(chtest.NewDatabase(t), warehouse.Options{DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	const notReady = 3
	var mu sync.Mutex
	served := 0
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served++
		n := served
		mu.Unlock()
		if n <= notReady {
			http.NotFound(w, r)
			return
		}
		serveBytes("audio/mpeg", mp3)(w, r)
	})
	env := newEnv(t, func(o *Options) { o.Catalog = db })
	ev := urlEvent("c-1", srv.URL+"/c-1.mp3")
	env.write(t, ev, ev)
	env.write(t, ev) // redelivered

	attempts, _ := startRun(t, env)
	if at := env.clock.NextWaiter(); !at.Equal(t0.Add(DefaultDelay)) {
		t.Fatalf("Run waits until %v, want ReceivedAt + Delay = %v", at, t0.Add(DefaultDelay))
	}
	if n := srv.count(); n != 0 {
		t.Fatalf("%d requests before the due time", n)
	}
	env.clock.AdvanceToNextWaiter()
	for i := range notReady {
		if o := <-attempts; o.kind != outcomeRetry || o.reason != retryNotReady {
			t.Fatalf("attempt %d: %d %q (%v), want not ready", i+1, o.kind, o.reason, o.err)
		}
		env.clock.AdvanceToNextWaiter()
	}
	o := <-attempts
	if o.kind != outcomeStored {
		t.Fatalf("last attempt: %d %q (%v), want stored", o.kind, o.reason, o.err)
	}

	if n := srv.count(); n != notReady+1 {
		t.Errorf("requests = %d, want %d", n, notReady+1)
	}
	if p, d := env.pending(t), env.dead(t); len(p) != 0 || len(d) != 0 {
		t.Errorf("jobs left: pending %+v, dead %+v", p, d)
	}
	if files := env.blobFiles(t); len(files) != 1 {
		t.Errorf("blob files = %v, want one", files)
	}
	rec, found, err := db.Recording(ctx, testProvider, "c-1")
	if err != nil || !found {
		t.Fatalf("Recording: %+v, %v, %v", rec, found, err)
	}
	if rec != secondPrecision(o.rec) || rec.Bytes != uint64(len(mp3)) || rec.ContentType != "audio/mpeg" {
		t.Errorf("row = %+v, want %+v", rec, o.rec)
	}
	// The call is recorded now: another announcement queues nothing.
	env.write(t, urlEvent("c-1", srv.URL+"/c-1-again.mp3"))
	if p := env.pending(t); len(p) != 0 {
		t.Errorf("a recorded call got a new job: %+v", p)
	}
}

func TestRunBoundsConcurrency(t *testing.T) {
	const workers, jobs = 2, 5
	release := make(chan struct{})
	arrived := make(chan struct{}, jobs)
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		serveBytes("audio/mpeg", []byte(r.URL.Path))(w, r) // distinct content per call
	})
	env := newEnv(t, func(o *Options) { o.Workers = workers })
	for i := range jobs {
		env.write(t, urlEvent(string(rune('a'+i)), srv.URL+"/"+string(rune('a'+i))))
	}
	env.clock.Set(t0.Add(DefaultDelay))
	attempts, _ := startRun(t, env)
	for range workers {
		<-arrived
	}
	close(release)
	for i := range jobs {
		if o := <-attempts; o.kind != outcomeStored {
			t.Fatalf("attempt %d: %d %q (%v)", i, o.kind, o.reason, o.err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if maxInFlight != workers {
		t.Errorf("max concurrent fetches = %d, want %d", maxInFlight, workers)
	}
	if env.catalog.len() != jobs {
		t.Errorf("catalogued %d, want %d", env.catalog.len(), jobs)
	}
}

// TestRunStopsOnCancel: cancelling Run aborts the attempt in progress and
// leaves its job as it was.
func TestRunStopsOnCancel(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := newServer(t, func(http.ResponseWriter, *http.Request) {
		arrived <- struct{}{}
		<-release
	})
	t.Cleanup(func() { close(release) })
	env := newEnv(t, nil)
	env.write(t, urlEvent("c-1", srv.URL+"/c-1.mp3"))
	env.clock.Set(t0.Add(DefaultDelay))
	_, stop := startRun(t, env)
	<-arrived
	stop()
	p := env.pending(t)
	if len(p) != 1 || p[0].Attempts != 0 || len(env.dead(t)) != 0 {
		t.Errorf("after cancel: pending %+v, dead %+v; want the job untouched", p, env.dead(t))
	}
}

// TestRunWakesForNewJobs: an idle Run picks up a job Write adds.
func TestRunWakesForNewJobs(t *testing.T) {
	srv := newServer(t, serveBytes("audio/mpeg", mp3))
	env := newEnv(t, nil)
	attempts, _ := startRun(t, env)
	ev := urlEvent("c-1", srv.URL+"/c-1.mp3")
	ev.ReceivedAt = t0.Add(-DefaultDelay) // due now
	env.write(t, ev)
	if o := <-attempts; o.kind != outcomeStored {
		t.Fatalf("outcome %d %q (%v), want stored", o.kind, o.reason, o.err)
	}
	if err := env.s.Run(context.Background()); err == nil {
		t.Error("a second concurrent Run was accepted")
	}
}

// secondPrecision is r as ClickHouse's DateTime returns it.
func secondPrecision(r warehouse.Recording) warehouse.Recording {
	r.FetchedAt = r.FetchedAt.Truncate(time.Second)
	return r
}
