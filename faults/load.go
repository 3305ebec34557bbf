package faults

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/callpulse/callpulse/loadgen"
)

// loadWorkers is the most webhook requests in flight.
const loadWorkers = 16

func (e *Env) target(body func(i uint64) Delivery) *loadgen.Target {
	return &loadgen.Target{
		URL:    e.Daemon.WebhookURL(),
		Header: http.Header{"Authorization": {"Bearer " + e.Daemon.Token()}, "Content-Type": {"application/json"}},
		Body: func(dst []byte, i uint64) []byte {
			return append(dst, body(i).webhook().Body...)
		},
		Done: func(i uint64, resp *http.Response, _ error) {
			d := body(i)
			e.Ledger.Record(d.Call, d.N, resp)
		},
	}
}

func (d Delivery) webhook() Webhook { return d.Call.Webhooks[d.N] }

// Stream sends the webhooks of new calls at rate (requests per second,
// open loop, like a PBX that does not wait for callpulse) until the
// returned stop is called; stop waits for the requests in flight. Request
// 2k and 2k+1 are the two webhooks of one call. One stream at a time.
func (e *Env) Stream(ctx context.Context, rate float64) (stop func()) {
	base := int(e.nextCall.Load())
	var mu sync.Mutex
	calls := map[int]Call{} // by pair, generated once
	used := 0
	body := func(i uint64) Delivery {
		pair := int(i / 2)
		mu.Lock()
		defer mu.Unlock()
		c, ok := calls[pair]
		if !ok {
			c = e.Traffic.Call(base + pair)
			calls[pair] = c
			used = max(used, pair+1)
		}
		return Delivery{c, int(i % 2)}
	}
	tgt := e.target(body)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			loadgen.Fixed(ctx, tgt, loadgen.Options{Duration: time.Second, Rate: rate, Workers: loadWorkers, Timeout: 10 * time.Second})
		}
	}()
	return func() {
		cancel()
		<-done
		mu.Lock()
		e.nextCall.Store(int64(base + used))
		mu.Unlock()
	}
}

// NewCalls returns the next n calls of the scenario's traffic.
func (e *Env) NewCalls(n int) []Call {
	base := int(e.nextCall.Add(int64(n))) - n
	calls := make([]Call, n)
	for i := range calls {
		calls[i] = e.Traffic.Call(base + i)
	}
	e.Ledger.Add(calls...)
	return calls
}

// Send posts each delivery once at rate (open loop) and returns when every
// one has been tried.
func (e *Env) Send(ctx context.Context, list []Delivery, rate float64) error {
	for len(list) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := list
		tgt := e.target(func(i uint64) Delivery { return batch[i] })
		// Duration is chosen so that loadgen schedules exactly len(batch) requests.
		d := time.Duration((float64(len(batch)) + 0.5) / rate * float64(time.Second))
		res := loadgen.Fixed(ctx, tgt, loadgen.Options{Duration: d, Rate: rate, Workers: loadWorkers, Timeout: 10 * time.Second})
		list = list[res.Sent:] // loadgen sends a prefix; what it could not start goes again
	}
	return nil
}

// pbxRetryDelay is how long the simulated PBX waits before it sends the
// webhooks callpulse refused again (callpulse asks for Retry-After: 1).
const pbxRetryDelay = time.Second

// redeliver sends every webhook that has not been acknowledged again,
// as the PBX does, until all are or within has passed.
func (e *Env) redeliver(ctx context.Context, within time.Duration, rate float64) error {
	deadline := time.Now().Add(within)
	for {
		pending := e.Ledger.Unacked()
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			e.Check(false, "%d webhooks still unacknowledged after %v of redelivery", len(pending), within)
			return nil
		}
		if err := e.Send(ctx, pending, rate); err != nil {
			return err
		}
		if len(e.Ledger.Unacked()) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pbxRetryDelay):
		}
	}
}
