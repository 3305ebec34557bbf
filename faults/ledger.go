package faults

import (
	"net/http"
	"sync"
)

// Ledger is the PBX's side of a scenario: every call it made and, per
// webhook, whether the daemon acknowledged it. It is safe for concurrent
// use (loadgen workers report to it).
type Ledger struct {
	mu        sync.Mutex
	calls     map[string]*callEntry
	order     []string // call ids in the order they were first sent
	sent      int      // requests
	acked     int      // requests answered 2xx
	refused   map[int]int
	failed    int // requests that got no answer
	noRetry   int // 503s without a Retry-After
	waiters   []waiter
	onNewCall func(Call)
}

type callEntry struct {
	call  Call
	acked [2]bool
	sent  [2]bool
}

type waiter struct {
	cond func(*Ledger) bool
	done chan struct{}
}

// NewLedger returns an empty ledger; onNewCall, if not nil, is called
// (under the ledger's lock) the first time a call is recorded, before any
// of its webhooks is sent.
func NewLedger(onNewCall func(Call)) *Ledger {
	return &Ledger{calls: map[string]*callEntry{}, refused: map[int]int{}, onNewCall: onNewCall}
}

// Add records calls about to be sent.
func (l *Ledger) Add(calls ...Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range calls {
		l.add(c)
	}
}

func (l *Ledger) add(c Call) *callEntry {
	e := l.calls[c.ID]
	if e == nil {
		e = &callEntry{call: c}
		l.calls[c.ID] = e
		l.order = append(l.order, c.ID)
		if l.onNewCall != nil {
			l.onNewCall(c)
		}
	}
	return e
}

// Record notes the outcome of one delivery of webhook n (0 or 1) of c:
// the response (nil on a transport error).
func (l *Ledger) Record(c Call, n int, resp *http.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.add(c)
	e.sent[n] = true
	l.sent++
	switch {
	case resp == nil:
		l.failed++
	case resp.StatusCode/100 == 2:
		e.acked[n] = true
		l.acked++
	default:
		l.refused[resp.StatusCode]++
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			l.noRetry++
		}
	}
	kept := l.waiters[:0]
	for _, w := range l.waiters {
		if w.cond(l) {
			close(w.done)
		} else {
			kept = append(kept, w)
		}
	}
	l.waiters = kept
}

// When returns a channel closed once cond holds; cond runs under the
// ledger's lock after every recorded delivery.
func (l *Ledger) When(cond func(*Ledger) bool) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	done := make(chan struct{})
	if cond(l) {
		close(done)
		return done
	}
	l.waiters = append(l.waiters, waiter{cond, done})
	return done
}

// AckedAtLeast is When for "n more requests acknowledged than now".
func (l *Ledger) AckedAtLeast(more int) <-chan struct{} {
	target := l.Counts().Acked + more
	return l.When(func(l *Ledger) bool { return l.acked >= target })
}

// RefusedAtLeast is When for "n more requests answered 503 than now".
func (l *Ledger) RefusedAtLeast(more int) <-chan struct{} {
	target := l.Counts().Refused[http.StatusServiceUnavailable] + more
	return l.When(func(l *Ledger) bool { return l.refused[http.StatusServiceUnavailable] >= target })
}

// LedgerCounts are the request totals of a ledger.
type LedgerCounts struct {
	Sent, Acked, Failed int
	Refused             map[int]int // non-2xx answers by status
	NoRetryAfter        int         // 503 answers without Retry-After
}

// Counts returns the totals so far.
func (l *Ledger) Counts() LedgerCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	refused := make(map[int]int, len(l.refused))
	for k, v := range l.refused {
		refused[k] = v
	}
	return LedgerCounts{Sent: l.sent, Acked: l.acked, Failed: l.failed, Refused: refused, NoRetryAfter: l.noRetry}
}

// Unacked returns the webhooks sent but never acknowledged, in the order
// their calls were first sent.
func (l *Ledger) Unacked() []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Delivery
	for _, id := range l.order {
		e := l.calls[id]
		for n := range e.sent {
			if e.sent[n] && !e.acked[n] {
				out = append(out, Delivery{e.call, n})
			}
		}
	}
	return out
}

// Sent returns every call with the acknowledgement of each of its
// webhooks, for Reconcile.
func (l *Ledger) Sent() []SentCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]SentCall, 0, len(l.order))
	for _, id := range l.order {
		e := l.calls[id]
		sc := SentCall{ID: id, Phone: e.call.Phone, Known: e.call.Known, Want: e.call.Want}
		for n, w := range e.call.Webhooks {
			if e.sent[n] {
				sc.Webhooks = append(sc.Webhooks, SentWebhook{Key: w.Key, Acked: e.acked[n]})
			}
		}
		out = append(out, sc)
	}
	return out
}

// Delivery is one webhook of a call to send.
type Delivery struct {
	Call Call
	N    int // which of Call.Webhooks
}
