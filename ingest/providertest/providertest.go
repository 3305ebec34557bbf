// Package providertest is the contract every PBX adapter passes. An
// adapter's test builds a Contract from its golden fixtures and calls Run:
//
//   - every request of every call is accepted;
//   - the folded events equal the expected calls;
//   - every request delivered three times, all shuffled together, folds to
//     exactly the same calls;
//   - a forged and an unauthenticated request are refused with 401 or 403,
//     with no events; so is a tampered one (signed content changed, the
//     credentials kept) for adapters whose PBX signs the body;
//   - every request replayed long after it was first accepted folds, with
//     the originals, into the same calls. No PBX we support signs a request
//     time (spec §0), so a captured request cannot be refused as stale: the
//     protection against replay is that it changes nothing. An adapter that
//     takes a time from the request's arrival must therefore use it only
//     where a later time cannot win the fold: starts and answers (the
//     earliest wins), and ends marked call.Event.ArrivalEnd, which give way
//     to any end on the PBX's clock.
package providertest

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// Request is one webhook request as a PBX sends it.
type Request struct {
	Method string // default POST
	Path   string // e.g. /webhooks/zadarma
	Header http.Header
	Body   []byte
}

// HTTP builds a fresh *http.Request (bodies are read once).
func (r Request) HTTP() *http.Request {
	m := r.Method
	if m == "" {
		m = http.MethodPost
	}
	req := httptest.NewRequest(m, r.Path, bytes.NewReader(r.Body))
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req
}

// Contract describes one adapter's fixtures.
type Contract struct {
	Provider ingest.Provider
	// Requests are the signed requests of one or more whole calls.
	Requests []Request
	// Want are the calls the requests fold into (any order).
	Want []call.Call
	// Forge returns a copy of a request with credentials that are present
	// but wrong (a bad signature, a foreign key, a wrong token).
	Forge func(Request) Request
	// Strip returns a copy of a request without credentials.
	Strip func(Request) Request
	// Tamper, if set, returns a copy of a request whose signed content was
	// changed while its credentials were kept. Nil for adapters whose PBX
	// authenticates with a bare token and signs nothing (generic, Gravitel).
	Tamper func(Request) Request
	// Now is the receive time passed to Parse.
	Now time.Time
}

// StaleAfter is how long after Now the stale replay arrives: longer than any
// PBX retries, and across a month boundary (call_events is partitioned by
// month of arrival).
const StaleAfter = 45 * 24 * time.Hour

// Run checks the contract.
func Run(t *testing.T, c Contract) {
	t.Helper()
	if len(c.Requests) == 0 || len(c.Want) == 0 {
		t.Fatal("contract without requests or expected calls")
	}
	t.Run("accepts and folds", func(t *testing.T) {
		got := foldAll(t, c, c.Requests)
		assertCalls(t, got, c.Want)
	})
	t.Run("three times shuffled folds the same", func(t *testing.T) {
		for seed := uint64(1); seed <= 5; seed++ {
			var all []Request
			for range 3 {
				all = append(all, c.Requests...)
			}
			rng := rand.New(rand.NewPCG(seed, 42))
			rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			assertCalls(t, foldAll(t, c, all), c.Want)
		}
	})
	t.Run("forged is refused", func(t *testing.T) {
		for i, r := range c.Requests {
			expectAuthError(t, c, c.Forge(r), i)
		}
	})
	t.Run("unauthenticated is refused", func(t *testing.T) {
		for i, r := range c.Requests {
			expectAuthError(t, c, c.Strip(r), i)
		}
	})
	if c.Tamper != nil {
		t.Run("tampered is refused", func(t *testing.T) {
			for i, r := range c.Requests {
				expectAuthError(t, c, c.Tamper(r), i)
			}
		})
	}
	t.Run("replayed stale folds the same", func(t *testing.T) {
		stale := c.Now.Add(StaleAfter)
		byCall := foldEvents(t, c, c.Requests, c.Now)
		for id, evs := range foldEvents(t, c, c.Requests, stale) {
			byCall[id] = append(byCall[id], evs...)
		}
		assertCalls(t, fold(byCall), c.Want)
	})
}

func foldAll(t *testing.T, c Contract, reqs []Request) []call.Call {
	t.Helper()
	return fold(foldEvents(t, c, reqs, c.Now))
}

// foldEvents parses requests received at now and groups their events by call.
func foldEvents(t *testing.T, c Contract, reqs []Request, now time.Time) map[string][]call.Event {
	t.Helper()
	byCall := map[string][]call.Event{}
	for i, r := range reqs {
		parsed, err := c.Provider.Parse(r.HTTP(), r.Body, now)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, r.Path, err)
		}
		for _, e := range parsed.Events {
			if e.Provider != c.Provider.Name() {
				t.Errorf("event provider %q, want %q", e.Provider, c.Provider.Name())
			}
			if e.CallID == "" || e.EventKey == "" {
				t.Errorf("request %d: event without call id or event key: %+v", i, e)
			}
			byCall[e.CallID] = append(byCall[e.CallID], e)
		}
	}
	return byCall
}

func fold(byCall map[string][]call.Event) []call.Call {
	var out []call.Call
	for _, evs := range byCall {
		out = append(out, call.Fold(evs))
	}
	return out
}

func assertCalls(t *testing.T, got, want []call.Call) {
	t.Helper()
	sortCalls(got)
	want = append([]call.Call(nil), want...)
	sortCalls(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("folded calls:\n got %+v\nwant %+v", got, want)
	}
}

func sortCalls(cs []call.Call) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].CallID < cs[j].CallID })
}

func expectAuthError(t *testing.T, c Contract, r Request, i int) {
	t.Helper()
	parsed, err := c.Provider.Parse(r.HTTP(), r.Body, c.Now)
	var ie *ingest.Error
	if !errors.As(err, &ie) || (ie.Status != http.StatusUnauthorized && ie.Status != http.StatusForbidden) {
		t.Errorf("request %d: err = %v, want a 401/403 *ingest.Error", i, err)
	}
	if len(parsed.Events) != 0 {
		t.Errorf("request %d: refused request returned %d events", i, len(parsed.Events))
	}
}
