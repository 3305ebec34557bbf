package asterisk

import (
	"sync"
	"time"

	"github.com/callpulse/callpulse/call"
)

// partial accumulates what one ARI event says about one call. Every setter
// applies the rule call.Fold uses for that field, so contributions of
// several channels of one event (Dial carries two) merge exactly as the
// separate events would fold.
type partial struct{ call.Event }

func (p *partial) direction(d call.Direction) { p.Direction = max(p.Direction, d) }
func (p *partial) status(s call.Status)       { p.Status = max(p.Status, s) }
func (p *partial) client(phone string)        { p.ClientPhone = max(p.ClientPhone, phone) }
func (p *partial) line(phone string)          { p.LinePhone = max(p.LinePhone, phone) }
func (p *partial) started(t time.Time)        { p.StartedAt = earliest(p.StartedAt, t) }
func (p *partial) answered(t time.Time)       { p.AnsweredAt = earliest(p.AnsweredAt, t) }

func (p *partial) ended(t time.Time) {
	if t.After(p.EndedAt) {
		p.EndedAt = t
	}
}

func (p *partial) manager(m string, rank uint8) {
	if m != "" && (p.Manager == "" || rank > p.ManagerRank || (rank == p.ManagerRank && m > p.Manager)) {
		p.Manager, p.ManagerRank = m, rank
	}
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// indexSize bounds the channel/bridge → call index: enough for the
// channels of a few thousand concurrent calls.
const indexSize = 16384

// callIndex remembers which call recently seen channels and bridges belong
// to, so that a RecordingFinished event, which names only its target
// channel or bridge, can be placed in its call. It forgets the oldest entry
// first. It is safe for concurrent use.
type callIndex struct {
	mu   sync.Mutex
	m    map[string]string
	ring []string // insertion order, for eviction
	next int
}

func newCallIndex(size int) *callIndex {
	return &callIndex{m: make(map[string]string, size), ring: make([]string, size)}
}

func (x *callIndex) put(key, callID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.m[key]; ok {
		x.m[key] = callID
		return
	}
	if old := x.ring[x.next]; old != "" {
		delete(x.m, old)
	}
	x.ring[x.next] = key
	x.next = (x.next + 1) % len(x.ring)
	x.m[key] = callID
}

func (x *callIndex) get(key string) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.m[key]
	return id, ok
}
