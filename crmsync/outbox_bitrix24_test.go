package crmsync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/spool"
)

// bitrixRig is an outbox pushing to a Bitrix24 emulator in virtual time.
type bitrixRig struct {
	srv      *bitrix24test.Server
	ob       *crmsync.Outbox
	attempts chan struct{}
}

func newBitrixRig(t *testing.T) *bitrixRig {
	t.Helper()
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
	return &bitrixRig{srv: srv, ob: ob, attempts: attempts}
}

// push hands the calls' events to the outbox and waits until it is idle.
func (r *bitrixRig) push(t *testing.T, calls ...[]call.Event) {
	t.Helper()
	var recs []spool.Record
	for _, events := range calls {
		for _, e := range events {
			b, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, spool.Record{Seq: uint64(len(recs) + 1), Data: b})
		}
	}
	if err := r.ob.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Minute) // guards a hung test only
	for {
		if p, err := r.ob.Pending(); err == nil && p == 0 {
			return
		}
		select {
		case <-r.attempts:
		case <-deadline:
			p, _ := r.ob.Pending()
			t.Fatalf("timed out with %d jobs pending", p)
		}
	}
}

// TestBitrix24BurstStaysWithinTheLeakyBucket: 1,000 calls finished
// together, pushed to a portal with the documented leaky bucket (50, then
// 2 requests/s) in virtual time. The portal never answers
// QUERY_LIMIT_EXCEEDED, every call is registered and finished once, and
// the backlog goes out in full batches.
func TestBitrix24BurstStaysWithinTheLeakyBucket(t *testing.T) {
	r := newBitrixRig(t)
	const n = 1000
	var burst [][]call.Event
	for i := range n {
		burst = append(burst, busyCall(fmt.Sprintf("c%d", i), fmt.Sprintf("+7916200%04d", i)))
	}
	r.push(t, burst...)
	srv := r.srv
	for _, r := range srv.Requests("") {
		if r.Error == "QUERY_LIMIT_EXCEEDED" {
			t.Fatalf("the portal answered QUERY_LIMIT_EXCEEDED at %v (%s)", r.At, r.Method)
		}
	}
	calls := srv.Calls()
	seen := map[string]int{}
	for _, c := range calls {
		seen[c.ExternalCallID]++
		if c.Finish == nil {
			t.Errorf("%s: not finished", c.ExternalCallID)
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

// TestBitrix24AttachesStoredRecordingsAtOnce: Bitrix24 cannot take a
// recording with register or finish, so an answered call whose recording
// is already stored gets it attached right after its push, once.
func TestBitrix24AttachesStoredRecordingsAtOnce(t *testing.T) {
	r := newBitrixRig(t)
	var answered [][]call.Event
	for i := range 3 {
		answered = append(answered, answeredCall(fmt.Sprintf("a%d", i), fmt.Sprintf("+7916300%04d", i)))
	}
	r.push(t, answered...)
	got := r.srv.Calls()
	for _, c := range got {
		if c.Finish == nil || len(c.Records) != 1 || c.Records[0]["RECORD_URL"] != recordingURL("generic", c.ExternalCallID[len("generic:"):]) {
			t.Errorf("%s: finished %v, recordings %v; want finished with its recording attached once", c.ExternalCallID, c.Finish != nil, c.Records)
		}
	}
	if len(got) != 3 {
		t.Errorf("calls = %d, want 3", len(got))
	}
}
