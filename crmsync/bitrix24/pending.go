package bitrix24

import "sync"

// maxRemembered bounds the remembered registrations; the oldest is
// forgotten first. Forgetting an open registration costs a second register
// (which Bitrix24 deduplicates for 30 minutes anyway); forgetting a
// finished one only matters if the same call is pushed again, which the
// outbox does not do once the push is settled.
const maxRemembered = 4096

// registration is what the client knows about a pushed call.
type registration struct {
	callID   string
	finished bool
}

// registrations remembers, by call key, the CALL_ID of calls registered in
// this process and whether their finish went through. Bitrix24 deduplicates
// a register only while the call is open, so a call pushed again after its
// finish would be registered a second time; this memory makes PushCall
// idempotent within a process. The outbox settles a push durably, so only
// a crash between a finish and that settle can repeat a call.
type registrations struct {
	mu    sync.Mutex
	regs  map[string]registration
	order []string // keys in insertion order, possibly stale
}

func (p *registrations) get(key string) (registration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.regs[key]
	return r, ok
}

func (p *registrations) put(key string, r registration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.regs == nil {
		p.regs = map[string]registration{}
	}
	if _, ok := p.regs[key]; !ok {
		p.order = append(p.order, key)
	}
	p.regs[key] = r
	for len(p.regs) > maxRemembered && len(p.order) > 0 {
		delete(p.regs, p.order[0])
		p.order = p.order[1:]
	}
}

// stringSet is a small bounded set of strings, safe for concurrent use.
type stringSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (s *stringSet) has(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[k]
	return ok
}

func (s *stringSet) put(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= maxRemembered {
		s.m = map[string]struct{}{}
	}
	s.m[k] = struct{}{}
}
