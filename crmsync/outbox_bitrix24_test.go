package crmsync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/spool"
)

// TestBitrix24BurstStaysWithinTheLeakyBucket: 1,000 answered calls, their
// recordings already stored, pushed to a portal with the documented leaky
// bucket (50, then 2 requests/s) in virtual time. The portal never answers
// QUERY_LIMIT_EXCEEDED, every call is registered and finished once with
// its recording attached once, and the backlog goes out in batches.
func TestBitrix24BurstStaysWithinTheLeakyBucket(t *testing.T) {
	clock := &vclock{t: t0}
	srv := bitrix24test.New(bitrix24test.Options{Now: clock.Now})
	t.Cleanup(srv.Close)
	tok := srv.IssueTokens()
	store := bitrix24.FileTokenStore{Path: t.TempDir() + "/tokens.json"}
	if err := store.Save(bitrix24.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expires: tok.Expires}); err != nil {
		t.Fatal(err)
	}
	throttle, err := crmsync.NewThrottle(2, 50, clock.Now, clock.After)
	if err != nil {
		t.Fatal(err)
	}
	bx, err := bitrix24.New(bitrix24.Options{Endpoint: srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret",
		Tokens: store, OAuthURL: srv.OAuthURL(), DefaultUserID: "1", CreateUnknown: true, Throttle: throttle, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := crmsync.New(crmsync.Options{
		Path: t.TempDir() + "/outbox.db", Targets: []crmsync.Target{{Pusher: bx, Workers: 2}},
		Catalog: &catalog{has: map[string]bool{}, after: map[string]int{}, lookups: map[string]int{}, all: true}, RecordingURL: recordingURL,
		Now: clock.Now, After: clock.After,
	})
	if err != nil {
		t.Fatal(err)
	}
	attempts := make(chan struct{}, 1)
	ob.SetOnAttempt(func() {
		select {
		case attempts <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		ob.Close()
	})

	const n = 1000
	var recs []spool.Record
	for i := range n {
		for _, e := range answeredCall(fmt.Sprintf("c%d", i), fmt.Sprintf("+7916200%04d", i)) {
			b, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, spool.Record{Seq: uint64(len(recs) + 1), Data: b})
		}
	}
	if err := ob.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(60 * time.Second) // guards a hung test only
	for {
		if p, err := ob.Pending(); err == nil && p == 0 {
			break
		}
		select {
		case <-attempts:
		case <-deadline:
			p, _ := ob.Pending()
			t.Fatalf("timed out with %d jobs pending", p)
		}
	}

	for _, r := range srv.Requests("") {
		if r.Error == "QUERY_LIMIT_EXCEEDED" {
			t.Fatalf("the portal answered QUERY_LIMIT_EXCEEDED at %v (%s)", r.At, r.Method)
		}
	}
	calls := srv.Calls()
	seen := map[string]int{}
	for _, c := range calls {
		seen[c.ExternalCallID]++
		if c.Finish == nil || len(c.Records) != 1 {
			t.Errorf("%s: finished %v, %d recordings attached; want finished with one", c.ExternalCallID, c.Finish != nil, len(c.Records))
		}
	}
	if len(calls) != n || len(seen) != n {
		t.Errorf("calls = %d (%d distinct), want %d each once", len(calls), len(seen), n)
	}
	if b := len(srv.Requests("batch")); b == 0 || b > 2*n/crmsyncBatch+4 {
		t.Errorf("batch requests = %d, want about %d: the backlog should go out in full batches", b, 2*n/crmsyncBatch)
	}
}

const crmsyncBatch = bitrix24.MaxBatch
