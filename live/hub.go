// Package live is the wallboard feed: call started/answered/ended messages
// pushed over a WebSocket (GET /api/v1/live) as webhooks arrive.
//
// The feed never slows ingest down: publishing is a non-blocking send to
// each subscriber's buffer, and a subscriber whose buffer is full is dropped
// (its connection closed; the wallboard reconnects). Phone numbers are left
// out unless configured.
package live

import (
	"sync"
	"time"

	"github.com/callpulse/callpulse/call"
)

// Message is one feed item.
type Message struct {
	// Type is call.started, call.answered or call.ended: the furthest state
	// the event reports.
	Type      string    `json:"type"`
	Provider  string    `json:"provider"`
	CallID    string    `json:"call_id"`
	Direction string    `json:"direction,omitempty"`
	Status    string    `json:"status,omitempty"`
	Manager   string    `json:"manager,omitempty"`
	At        time.Time `json:"at"`
	// ClientPhone is set only when the feed is configured to show phones.
	ClientPhone string `json:"client_phone,omitempty"`
}

// Hub fans messages out to subscribers.
type Hub struct {
	buffer     int
	showPhones bool
	managerID  func(ext string) string

	mu   sync.Mutex
	subs map[*subscriber]struct{}
	// dropped counts subscribers dropped for being slow.
	dropped func()
	// joined, if set, receives a value whenever a subscriber joins (tests).
	joined chan struct{}
}

type subscriber struct {
	ch   chan Message
	gone chan struct{} // closed when the hub drops the subscriber
}

// Options configure a Hub.
type Options struct {
	// Buffer is how many messages a subscriber may lag before it is
	// dropped (default 256).
	Buffer int
	// ShowPhones puts client phone numbers in messages.
	ShowPhones bool
	// ManagerID maps a PBX extension to the manager id shown (default: the
	// extension itself).
	ManagerID func(ext string) string
	// OnDrop is called when a slow subscriber is dropped (for metrics).
	OnDrop func()
}

// NewHub returns an empty hub.
func NewHub(opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	if opts.ManagerID == nil {
		opts.ManagerID = func(ext string) string { return ext }
	}
	if opts.OnDrop == nil {
		opts.OnDrop = func() {}
	}
	return &Hub{buffer: opts.Buffer, showPhones: opts.ShowPhones, managerID: opts.ManagerID,
		subs: map[*subscriber]struct{}{}, dropped: opts.OnDrop}
}

// Publish sends the events to every subscriber without blocking.
func (h *Hub) Publish(events []call.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	for _, e := range events {
		m := h.message(e)
		for s := range h.subs {
			select {
			case s.ch <- m:
			default:
				h.dropLocked(s)
			}
		}
	}
}

func (h *Hub) message(e call.Event) Message {
	m := Message{Type: "call.started", Provider: e.Provider, CallID: e.CallID, At: e.StartedAt}
	switch {
	case !e.EndedAt.IsZero():
		m.Type, m.At = "call.ended", e.EndedAt
	case !e.AnsweredAt.IsZero():
		m.Type, m.At = "call.answered", e.AnsweredAt
	}
	if m.At.IsZero() {
		m.At = e.ReceivedAt
	}
	if e.Direction != call.DirectionUnknown {
		m.Direction = e.Direction.String()
	}
	if e.Status != call.StatusNone {
		m.Status = e.Status.String()
	}
	if e.Manager != "" {
		m.Manager = h.managerID(e.Manager)
	}
	if h.showPhones {
		m.ClientPhone = e.ClientPhone
	}
	return m
}

// subscribe registers a subscriber; unsubscribe must be called when done.
func (h *Hub) subscribe() *subscriber {
	s := &subscriber{ch: make(chan Message, h.buffer), gone: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	if h.joined != nil {
		h.joined <- struct{}{}
	}
	return s
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.gone)
	}
}

func (h *Hub) dropLocked(s *subscriber) {
	delete(h.subs, s)
	close(s.gone)
	h.dropped()
}

// Subscribers is the number of connected subscribers.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
