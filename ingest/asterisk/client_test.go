package asterisk

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// running is a Source started with Run in the background.
type running struct {
	src    *Source
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned err
	err    error
}

func start(t *testing.T, opts Options) *running {
	t.Helper()
	src := newSource(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{src: src, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = src.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// stop cancels Run and checks that it returns nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	r.wait(t)
}

func (r *running) wait(t *testing.T) {
	t.Helper()
	wait(t, r.done, "Run to return")
	if r.err != nil {
		t.Fatalf("Run = %v, want nil", r.err)
	}
}

func clientOptions(t *testing.T, ari *fakeARI, spool *fakeSpool) Options {
	opts := testOptions(t)
	opts.URL = ari.srv.URL
	opts.Appender = spool
	return opts
}

// eventCount is how many call events frames produce.
func eventCount(t *testing.T, frames [][]byte) int {
	return len(parseAll(t, newSource(t, testOptions(t)), frames))
}

func TestRunStoresCalls(t *testing.T) {
	for _, apiKey := range []bool{false, true} {
		name := map[bool]string{false: "basic auth", true: "api_key"}[apiKey]
		t.Run(name, func(t *testing.T) {
			all := allFrames(t)
			ari := newFakeARI(t, testPassword, func(_ int, c *websocket.Conn) {
				send(t, c, all)
				drain(c)
			})
			spool := &fakeSpool{}
			opts := clientOptions(t, ari, spool)
			opts.APIKeyInQuery = apiKey
			r := start(t, opts)

			wait(t, spool.until(eventCount(t, all)), "events to be stored")
			r.stop(t)
			if hs := <-ari.handshakes; hs.basic == apiKey || hs.apiKey != apiKey {
				t.Errorf("handshake used basic=%v api_key=%v, want api_key=%v only", hs.basic, hs.apiKey, apiKey)
			}
			if got := foldCalls(spool.events(t)); !reflect.DeepEqual(got, wantCalls) {
				t.Errorf("calls:\n got %+v\nwant %+v", got, wantCalls)
			}
		})
	}
}

func TestRunTripleShuffled(t *testing.T) {
	var frames [][]byte
	for range 3 {
		frames = append(frames, allFrames(t)...)
	}
	rand.New(rand.NewPCG(42, 1)).Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
	ari := newFakeARI(t, testPassword, func(_ int, c *websocket.Conn) {
		send(t, c, frames)
		drain(c)
	})
	spool := &fakeSpool{}
	r := start(t, clientOptions(t, ari, spool))

	wait(t, spool.until(eventCount(t, frames)), "events to be stored")
	r.stop(t)
	if got := foldCalls(spool.events(t)); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls:\n got %+v\nwant %+v", got, wantCalls)
	}
}

// TestReconnectAfterDrop: the server drops the TCP connection mid-stream;
// the client reconnects and the rest of the stream completes the calls.
func TestReconnectAfterDrop(t *testing.T) {
	all := allFrames(t)
	first, rest := all[:len(all)/2], all[len(all)/2:]
	firstEvents := eventCount(t, first)
	spool := &fakeSpool{}
	ari := newFakeARI(t, testPassword, func(n int, c *websocket.Conn) {
		switch n {
		case 1:
			send(t, c, first)
			<-spool.until(firstEvents)
			c.NetConn().Close() // no close frame: a dropped connection
		default:
			send(t, c, rest)
			drain(c)
		}
	})
	r := start(t, clientOptions(t, ari, spool))

	wait(t, spool.until(eventCount(t, all)), "events to be stored")
	r.stop(t)
	if got := foldCalls(spool.events(t)); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls:\n got %+v\nwant %+v", got, wantCalls)
	}
	if st := r.src.Stats(); st.Connections != 2 || st.Dropped != 0 {
		t.Errorf("stats = %+v, want 2 connections, nothing dropped", st)
	}
}

// TestWrongCredentials: ARI answers 401; the client keeps retrying with
// backoff, logs the failure with the user and never the password.
func TestWrongCredentials(t *testing.T) {
	for _, apiKey := range []bool{false, true} {
		name := map[bool]string{false: "basic auth", true: "api_key"}[apiKey]
		t.Run(name, func(t *testing.T) {
			ari := newFakeARI(t, "the-right-password", func(int, *websocket.Conn) {
				t.Error("connection accepted with wrong credentials")
			})
			logs := newLogSink()
			opts := clientOptions(t, ari, &fakeSpool{})
			opts.APIKeyInQuery = apiKey
			opts.Logger = logs.logger()
			r := start(t, opts)

			for i := range 3 {
				if hs := wait(t, ari.handshakes, "a handshake"); hs.accepted {
					t.Fatalf("attempt %d accepted", i)
				}
			}
			r.stop(t)
			st := r.src.Stats()
			if st.Connections != 0 || st.DialFailures < 3 {
				t.Errorf("stats = %+v, want no connection and ≥ 3 dial failures", st)
			}
			out := logs.String()
			if !strings.Contains(out, "refused the credentials") || !strings.Contains(out, "user="+testUser) {
				t.Errorf("log does not report the refusal with the user:\n%s", out)
			}
			if strings.Contains(out, testPassword) {
				t.Errorf("log contains the password:\n%s", out)
			}
		})
	}
}

// TestBackpressure: while the spool refuses appends the buffer fills, the
// client stops reading and says so; nothing is lost once the spool
// recovers.
func TestBackpressure(t *testing.T) {
	all := allFrames(t)
	ari := newFakeARI(t, testPassword, func(_ int, c *websocket.Conn) {
		send(t, c, all)
		drain(c)
	})
	spool := &fakeSpool{refusal: make(chan struct{})}
	spool.failing.Store(true)
	logs := newLogSink()
	full := logs.waitFor("buffer full")
	opts := clientOptions(t, ari, spool)
	opts.BufferSize = 2
	opts.Logger = logs.logger()
	r := start(t, opts)

	wait(t, full, "the buffer-full warning")
	wait(t, spool.refusal, "a refused append")
	spool.failing.Store(false)
	wait(t, spool.until(eventCount(t, all)), "events to be stored")
	r.stop(t)
	if got := foldCalls(spool.events(t)); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls:\n got %+v\nwant %+v", got, wantCalls)
	}
	if st := r.src.Stats(); st.AppendRetries == 0 || st.Dropped != 0 || st.Buffered != 0 {
		t.Errorf("stats = %+v, want retries, nothing dropped or buffered", st)
	}
}

// TestShutdownDrain: events buffered while the spool fails are stored after
// Run's context ends if the spool recovers within DrainTimeout, and are
// counted and logged as dropped if it does not.
func TestShutdownDrain(t *testing.T) {
	tests := []struct {
		name    string
		recover bool
	}{
		{"spool recovers", true},
		{"spool stays full", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := allFrames(t)
			n := eventCount(t, all)
			handled := make(chan (<-chan struct{}), 1)
			ari := newFakeARI(t, testPassword, func(_ int, c *websocket.Conn) {
				send(t, c, all)
				handled <- flushed(c)
				drain(c)
			})
			spool := &fakeSpool{}
			spool.failing.Store(true)
			logs := newLogSink()
			opts := clientOptions(t, ari, spool)
			opts.Logger = logs.logger()
			opts.DrainTimeout = time.Hour // the "recovers" case must not time out
			if !tt.recover {
				opts.DrainTimeout = time.Nanosecond
			}
			r := start(t, opts)

			wait(t, wait(t, handled, "frames to be sent"), "the client to handle every frame")
			r.cancel()
			if tt.recover {
				spool.failing.Store(false)
			}
			r.wait(t)
			st := r.src.Stats()
			if tt.recover {
				if spool.count() != n || st.Dropped != 0 {
					t.Errorf("stored %d of %d, stats %+v; want all stored", spool.count(), n, st)
				}
				return
			}
			if spool.count() != 0 || st.Dropped != uint64(n) || st.Buffered != 0 {
				t.Errorf("stored %d, stats %+v; want all %d dropped", spool.count(), st, n)
			}
			if !strings.Contains(logs.String(), "not stored at shutdown") {
				t.Errorf("the loss is not logged:\n%s", logs.String())
			}
		})
	}
}

// TestKeepalive: a server that stops answering pings is detected through
// the read deadline and the client reconnects.
func TestKeepalive(t *testing.T) {
	second := make(chan struct{})
	var ari *fakeARI
	ari = newFakeARI(t, testPassword, func(n int, c *websocket.Conn) {
		if n == 1 {
			<-ari.done // never reads, so never answers a ping
			return
		}
		if n == 2 {
			close(second)
		}
		drain(c)
	})
	logs := newLogSink()
	opts := clientOptions(t, ari, &fakeSpool{})
	opts.PingInterval = time.Millisecond
	opts.Logger = logs.logger()
	r := start(t, opts)
	wait(t, second, "a second connection")
	r.stop(t)
	if !strings.Contains(logs.String(), "not even a pong") {
		t.Errorf("dead connection not reported:\n%s", logs.String())
	}
}

// TestApplicationReplaced: another client took the app name; the session
// ends with an error log and the client reconnects.
func TestApplicationReplaced(t *testing.T) {
	second := make(chan struct{})
	ari := newFakeARI(t, testPassword, func(n int, c *websocket.Conn) {
		if n == 1 {
			send(t, c, [][]byte{[]byte(`{"type":"ApplicationReplaced","timestamp":"2024-05-14T10:21:05.118+0300","application":"callpulse"}`)})
			drain(c)
			return
		}
		if n == 2 {
			close(second)
		}
		drain(c)
	})
	logs := newLogSink()
	opts := clientOptions(t, ari, &fakeSpool{})
	opts.Logger = logs.logger()
	r := start(t, opts)
	wait(t, second, "a second connection")
	r.stop(t)
	if !strings.Contains(logs.String(), "same app name") {
		t.Errorf("ApplicationReplaced not logged:\n%s", logs.String())
	}
}

func TestRunTwice(t *testing.T) {
	ari := newFakeARI(t, testPassword, func(_ int, c *websocket.Conn) { drain(c) })
	r := start(t, clientOptions(t, ari, &fakeSpool{}))
	wait(t, ari.handshakes, "a handshake")
	if err := r.src.Run(context.Background()); err == nil {
		t.Error("second concurrent Run returned nil")
	}
	r.stop(t)
}
