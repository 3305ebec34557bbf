package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/live"
)

// TestLiveFeed: the wallboard feed needs the API token, and a webhook that
// was acknowledged shows on it without the client's phone number.
func TestLiveFeed(t *testing.T) {
	d := startDaemon(t, newConfig(t, chtest.NewDatabase(t), t.TempDir()))
	wsURL := "ws" + strings.TrimPrefix(d.base, "http") + "/api/v1/live"

	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("live feed without a token: err=%v, want 401", err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL+"?access_token="+apiToken, nil)
	if err != nil {
		t.Fatalf("live feed with the token: %v", err)
	}
	defer conn.Close()
	// The server subscribes right after the upgrade; post until the first
	// message arrives so the test does not depend on that ordering.
	got := make(chan live.Message, 1)
	go func() {
		var m live.Message
		if err := conn.ReadJSON(&m); err == nil {
			got <- m
		}
		close(got)
	}()
	var m live.Message
	received := false
	for i := 0; i < 1000 && !received; i++ {
		if code, body := d.post(fixtureCalls[0], genericToken); code != http.StatusOK {
			t.Fatalf("post: %d %s", code, body)
		}
		select {
		case msg, ok := <-got:
			if !ok {
				t.Fatal("live feed closed without a message")
			}
			m, received = msg, true
		default:
		}
	}
	if !received {
		t.Fatal("no live feed message after 1000 webhooks")
	}
	if m.Type != "call.ended" || m.CallID != "c1" || m.Manager != "alice" || m.Status != "answered" {
		t.Errorf("message = %+v, want call.ended of c1 by alice", m)
	}
	if m.ClientPhone != "" {
		t.Error("the live feed shows phone numbers although live.show_phones is off")
	}
}
