package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/internal/chtest"
)

// fakeARI is an ARI-like WebSocket server: it checks the credentials and
// the application name, sends the recorded events of a call, and keeps the
// connection open until the test ends.
func fakeARI(t *testing.T, user, password, app, fixture string) *httptest.Server {
	t.Helper()
	frames, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if r.URL.Path != "/ari/events" || r.URL.Query().Get("app") != app || !ok || u != user || p != password {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		lines := bufio.NewScanner(bytes.NewReader(frames))
		lines.Buffer(make([]byte, 1<<20), 1<<20)
		for lines.Scan() {
			if err := conn.WriteMessage(websocket.TextMessage, lines.Bytes()); err != nil {
				return
			}
		}
		<-done
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

// TestEndToEndAsterisk: the daemon connects to ARI, folds the channel
// events of an answered inbound call, and the call shows in talk time as
// the adapter's golden events say it should.
func TestEndToEndAsterisk(t *testing.T) {
	const fixtures = "../ingest/asterisk/testdata/"
	srv := fakeARI(t, "callpulse", "ari-secret", "callpulse", fixtures+"inbound_answered.jsonl")

	var golden []call.Event
	b, err := os.ReadFile(fixtures + "inbound_answered.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	want := call.Fold(golden)
	if want.TalkSeconds == 0 || want.Manager == "" {
		t.Fatalf("fixture is not an answered call: %+v", want)
	}

	cfg := newConfig(t, chtest.NewDatabase(t), t.TempDir())
	cfg.Asterisk.URL, cfg.Asterisk.App, cfg.Asterisk.User, cfg.Asterisk.Password = srv.URL, "callpulse", "callpulse", "ari-secret"
	d := startDaemon(t, cfg)

	day := want.StartedAt.In(cfg.Location()).Format(time.DateOnly)
	deadline := time.Now().Add(60 * time.Second)
	for {
		d.waitDrained()
		got, _ := d.talkTime(day, day)
		key := cfg.ManagerByExtension()[want.Manager].ID + ":unknown" // the caller is not an imported client
		if got[key] == uint64(want.TalkSeconds) && len(got) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("talk time on %s = %v, want %s = %d", day, got, key, want.TalkSeconds)
		}
		time.Sleep(20 * time.Millisecond) // events arrive over the WebSocket asynchronously
	}
}
