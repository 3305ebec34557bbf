package live

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/callpulse/callpulse/call"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func dial(t *testing.T, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestFeedMessages(t *testing.T) {
	tests := []struct {
		name       string
		showPhones bool
		event      call.Event
		want       Message
	}{
		{"started, phones hidden", false,
			call.Event{Provider: "generic", CallID: "c1", StartedAt: t0, Direction: call.DirectionInbound, ClientPhone: "+79161234567"},
			Message{Type: "call.started", Provider: "generic", CallID: "c1", Direction: "inbound", At: t0}},
		{"answered, manager mapped", false,
			call.Event{Provider: "generic", CallID: "c1", StartedAt: t0, AnsweredAt: t0.Add(5 * time.Second), Manager: "101", Status: call.StatusAnswered},
			Message{Type: "call.answered", Provider: "generic", CallID: "c1", Manager: "alice", Status: "answered", At: t0.Add(5 * time.Second)}},
		{"ended, phones shown", true,
			call.Event{Provider: "generic", CallID: "c1", StartedAt: t0, EndedAt: t0.Add(time.Minute), Status: call.StatusMissed, ClientPhone: "+79161234567"},
			Message{Type: "call.ended", Provider: "generic", CallID: "c1", Status: "missed", At: t0.Add(time.Minute), ClientPhone: "+79161234567"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHub(Options{ShowPhones: tt.showPhones, ManagerID: func(ext string) string { return map[string]string{"101": "alice"}[ext] }})
			h.joined = make(chan struct{}, 1)
			srv := httptest.NewServer(h.Handler(slog.New(slog.DiscardHandler)))
			defer srv.Close()
			conn := dial(t, srv)
			<-h.joined // the server side has subscribed
			h.Publish([]call.Event{tt.event})
			var got Message
			if err := conn.ReadJSON(&got); err != nil {
				t.Fatal(err)
			}
			if !got.At.Equal(tt.want.At) {
				t.Errorf("at = %v, want %v", got.At, tt.want.At)
			}
			got.At = tt.want.At
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestSlowSubscriberIsDropped: a client that does not read is dropped once
// its buffer is full, while Publish never blocks and a reading client keeps
// getting every message.
func TestSlowSubscriberIsDropped(t *testing.T) {
	drops := 0
	h := NewHub(Options{Buffer: 4, OnDrop: func() { drops++ }})
	slow := h.subscribe() // never read
	fast := h.subscribe()
	for i := range 10 {
		h.Publish([]call.Event{{Provider: "p", CallID: "c", StartedAt: t0.Add(time.Duration(i) * time.Second)}})
		<-fast.ch
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("slow subscriber was not dropped")
	}
	if drops != 1 || h.Subscribers() != 1 {
		t.Errorf("drops = %d, subscribers = %d; want 1 and 1", drops, h.Subscribers())
	}
	h.unsubscribe(fast)
	h.unsubscribe(slow) // idempotent after a drop
}
