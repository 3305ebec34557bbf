package bitrix24

import "sync"

// maxPending bounds the remembered registrations; the oldest is forgotten
// first (a retry then registers again, which Bitrix24 deduplicates for 30
// minutes anyway).
const maxPending = 4096

// pendingCalls remembers CALL_IDs registered but not yet known finished,
// by call key.
type pendingCalls struct {
	mu    sync.Mutex
	ids   map[string]string
	order []string
}

func (p *pendingCalls) get(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.ids[key]
	return id, ok
}

func (p *pendingCalls) put(key, callID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string]string{}
	}
	if _, ok := p.ids[key]; !ok {
		p.order = append(p.order, key)
	}
	p.ids[key] = callID
	if len(p.order) > 2*maxPending {
		live := p.order[:0]
		for _, k := range p.order {
			if _, ok := p.ids[k]; ok {
				live = append(live, k)
			}
		}
		p.order = live
	}
	for len(p.ids) > maxPending && len(p.order) > 0 {
		delete(p.ids, p.order[0])
		p.order = p.order[1:]
	}
}

func (p *pendingCalls) remove(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.ids, key)
	// order keeps the key until put compacts it.
}
