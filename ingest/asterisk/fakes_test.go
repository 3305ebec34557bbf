package asterisk

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/callpulse/callpulse/call"
)

// handshake is what the fake ARI server saw of one connection attempt.
type handshake struct {
	basic, apiKey bool // which credential form the client used
	accepted      bool
}

// fakeARI is an ARI-like WebSocket server: it checks the path, the app and
// subscribeAll query parameters, the "ari" subprotocol and the credentials
// (HTTP Basic or api_key, spec §4.1), answers 401 to wrong ones, and hands
// each accepted connection (numbered from 1) to serve.
type fakeARI struct {
	t          *testing.T
	srv        *httptest.Server
	password   string
	serve      func(n int, c *websocket.Conn)
	handshakes chan handshake
	conns      atomic.Int64
	done       chan struct{} // closed at cleanup; blocked handlers return
}

func newFakeARI(t *testing.T, password string, serve func(n int, c *websocket.Conn)) *fakeARI {
	f := &fakeARI{t: t, password: password, serve: serve,
		handshakes: make(chan handshake, 1000), done: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(func() {
		close(f.done)
		f.srv.Close()
	})
	return f
}

func (f *fakeARI) handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.URL.Path != "/ari/events" || q.Get("app") != testApp || q.Get("subscribeAll") != "true" {
		f.t.Errorf("unexpected request %s ?app=%q subscribeAll=%q", r.URL.Path, q.Get("app"), q.Get("subscribeAll"))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) || !strings.Contains(r.Header.Get("Sec-WebSocket-Protocol"), "ari") {
		f.t.Errorf("not a WebSocket upgrade with the ari subprotocol")
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	hs := handshake{}
	user, pass, ok := r.BasicAuth()
	hs.basic = ok
	if key := q.Get("api_key"); key != "" {
		hs.apiKey = true
		user, pass, ok = strings.Cut(key, ":")
	}
	hs.accepted = ok && user == testUser && pass == f.password
	f.handshakes <- hs
	if !hs.accepted {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		http.Error(w, `{"error":"Authentication required"}`, http.StatusUnauthorized)
		return
	}
	up := websocket.Upgrader{Subprotocols: []string{"ari"}}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		f.t.Errorf("upgrade: %v", err)
		return
	}
	defer c.Close()
	f.serve(int(f.conns.Add(1)), c)
}

// send writes frames as text messages.
func send(t *testing.T, c *websocket.Conn, frames [][]byte) {
	for _, fr := range frames {
		if err := c.WriteMessage(websocket.TextMessage, fr); err != nil {
			t.Errorf("write frame: %v", err)
			return
		}
	}
}

// flushed pings the client after frames were sent and returns a channel
// closed on its pong: the client answers pings only from its read loop, so
// by then it has handled every earlier frame. The caller must keep reading
// (drain) for the pong to be processed.
func flushed(c *websocket.Conn) <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	c.SetPongHandler(func(string) error { once.Do(func() { close(ch) }); return nil })
	if err := c.WriteMessage(websocket.PingMessage, nil); err != nil {
		close(ch)
	}
	return ch
}

// drain reads until the client goes away, answering its pings.
func drain(c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

// fakeSpool is an Appender that keeps what it stored and fails while
// failing is set.
type fakeSpool struct {
	failing atomic.Bool
	refused sync.Once
	refusal chan struct{} // closed at the first refused Append, if not nil
	mu      sync.Mutex
	stored  [][]byte
	waiters []countWaiter
}

type countWaiter struct {
	n  int
	ch chan struct{}
}

var errSpoolFull = errors.New("spool full")

func (f *fakeSpool) Append(ctx context.Context, payloads ...[]byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if f.failing.Load() {
		if f.refusal != nil {
			f.refused.Do(func() { close(f.refusal) })
		}
		return 0, errSpoolFull
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range payloads {
		f.stored = append(f.stored, append([]byte(nil), p...))
	}
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if len(f.stored) >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	f.waiters = kept
	return uint64(len(f.stored)), nil
}

// until returns a channel closed once n payloads are stored.
func (f *fakeSpool) until(n int) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	if len(f.stored) >= n {
		close(ch)
	} else {
		f.waiters = append(f.waiters, countWaiter{n, ch})
	}
	return ch
}

func (f *fakeSpool) events(t *testing.T) []call.Event {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]call.Event, 0, len(f.stored))
	for _, p := range f.stored {
		e, err := call.Unmarshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func (f *fakeSpool) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.stored)
}
