package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// Bitrix24's documented limit (§6.6): a leaky bucket of 50 requests
// draining 2 per second, per portal.
// callpulse's default throttle keeps two requests of headroom in the
// bucket (crm.bitrix24.burst: 48) for requests that reach the portal in a
// different order or a little later than they took their tokens.
const (
	bitrixBurst   = 50
	bitrixRate    = 2.0
	throttleBurst = 48
	targetCRM     = 0.9
)

// crmResult is one CRM push run.
type crmResult struct {
	calls, requests, throttled int
	elapsed, bound             time.Duration
}

// benchCRM pushes calls finished together (a backlog after an outage, or
// a burst) through the real outbox and Bitrix24 client to the Bitrix24
// emulator, which enforces the leaky bucket in real time over loopback
// HTTP, and compares the time taken with the least the limit allows: the
// requests needed (2 per 50 calls: a batch of registers, a batch of
// finishes) beyond the first 50, at 2 per second.
func benchCRM(ctx context.Context, calls int) (crmResult, error) {
	srv := bitrix24test.New(bitrix24test.Options{Burst: bitrixBurst, Drain: bitrixRate})
	defer srv.Close()
	dir, err := os.MkdirTemp("", "callpulse-bench-crm")
	if err != nil {
		return crmResult{}, err
	}
	defer os.RemoveAll(dir)
	tok := srv.IssueTokens()
	store := bitrix24.FileTokenStore{Path: filepath.Join(dir, "tokens.json")}
	if err := store.Save(bitrix24.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expires: tok.Expires}); err != nil {
		return crmResult{}, err
	}
	throttle, err := crmsync.NewThrottle(bitrixRate, throttleBurst, nil, nil)
	if err != nil {
		return crmResult{}, err
	}
	bx, err := bitrix24.New(bitrix24.Options{Endpoint: srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret",
		Tokens: store, OAuthURL: srv.OAuthURL(), DefaultUserID: "1", CreateUnknown: true, Throttle: throttle})
	if err != nil {
		return crmResult{}, err
	}
	ob, err := crmsync.New(crmsync.Options{
		Path: filepath.Join(dir, "outbox.db"), Targets: []crmsync.Target{{Pusher: bx, Workers: 2}},
		Catalog: noRecordings{}, RecordingURL: func(string, string) string { return "" },
		Settle: time.Millisecond,
	})
	if err != nil {
		return crmResult{}, err
	}
	defer ob.Close()

	// Busy outbound calls: a register and a finish each, no task, no recording.
	now := time.Now()
	recs := make([]spool.Record, calls)
	for i := range recs {
		e := call.Event{Provider: "bench", CallID: fmt.Sprintf("c%d", i), EventKey: "end", ReceivedAt: now,
			Direction: call.DirectionOutbound, StartedAt: now.Add(-time.Minute), EndedAt: now, Status: call.StatusBusy,
			ClientPhone: fmt.Sprintf("+7916%07d", i), LinePhone: "+74951234567", Manager: "101"}
		b, err := e.Marshal()
		if err != nil {
			return crmResult{}, err
		}
		recs[i] = spool.Record{Seq: uint64(i + 1), Data: b}
	}
	if err := ob.Write(ctx, recs); err != nil {
		return crmResult{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- ob.Run(rctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for finished(srv) < calls {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			return crmResult{}, ctx.Err()
		case err := <-done:
			cancel()
			return crmResult{}, fmt.Errorf("outbox stopped: %w", err)
		case <-tick.C:
		}
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		return crmResult{}, err
	}
	r := crmResult{calls: calls, elapsed: elapsed}
	for _, q := range srv.Requests("") {
		if q.InBatch {
			continue
		}
		r.requests++
		if q.Error == "QUERY_LIMIT_EXCEEDED" {
			r.throttled++
		}
	}
	needed := 2 * int(math.Ceil(float64(calls)/float64(bitrix24.MaxBatch)))
	r.bound = time.Duration(float64(max(needed-bitrixBurst, 0)) / bitrixRate * float64(time.Second))
	if r.bound == 0 {
		return r, errors.New("too few calls to reach the limit: raise -crm-calls")
	}
	return r, nil
}

func finished(srv *bitrix24test.Server) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Finish != nil {
			n++
		}
	}
	return n
}

// noRecordings is a recordings catalog without any.
type noRecordings struct{}

func (noRecordings) Recording(context.Context, string, string) (warehouse.Recording, bool, error) {
	return warehouse.Recording{}, false, nil
}
