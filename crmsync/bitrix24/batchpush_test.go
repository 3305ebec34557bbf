package bitrix24

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
)

// TestPushCallsSendsWhatPushCallSends: a batch push of calls gives the
// portal the same register and finish parameters as one PushCall each, in
// two requests.
func TestPushCallsSendsWhatPushCallSends(t *testing.T) {
	recs := []crmsync.CallRecord{
		callRecord("zadarma:in_1", call.DirectionInbound, call.StatusAnswered, 42),
		callRecord("zadarma:in_2", call.DirectionInbound, call.StatusMissed, 0),
		callRecord("mango:out_3", call.DirectionOutbound, call.StatusBusy, 0),
	}
	recs[1].ClientPhone, recs[2].ClientPhone = "+79161234568", "+79161234569"
	one := newFixture(t, func(o *Options) { o.CreateUnknown = true })
	for _, r := range recs {
		if _, err := one.c.PushCall(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	batch := newFixture(t, func(o *Options) { o.CreateUnknown = true })
	for i, res := range batch.c.PushCalls(context.Background(), recs) {
		if res.Err != nil || res.Ref.ID == "" {
			t.Fatalf("call %d: %+v", i, res)
		}
	}
	if n := len(batch.srv.Requests("batch")); n != 2 {
		t.Errorf("batch requests = %d, want 2 (registers, then finishes)", n)
	}
	for _, method := range []string{"telephony.externalCall.register", "telephony.externalCall.finish"} {
		want, got := paramsByKey(t, one.srv, method), paramsByKey(t, batch.srv, method)
		if len(got) != len(recs) {
			t.Fatalf("%s: %d calls, want %d: %v", method, len(got), len(recs), got)
		}
		for k, w := range want {
			if g := got[k]; !maps.Equal(g, w) {
				t.Errorf("%s of %s in a batch:\n got %v\nwant %v", method, k, g, w)
			}
		}
	}
}

// paramsByKey returns the params of each call of method, as strings, by
// the call's EXTERNAL_CALL_ID, without the ids the portal assigns.
func paramsByKey(t *testing.T, srv *bitrix24test.Server, method string) map[string]map[string]string {
	t.Helper()
	keyOf := map[string]string{} // CALL_ID → EXTERNAL_CALL_ID
	for _, c := range srv.Calls() {
		keyOf[c.CallID] = c.ExternalCallID
	}
	out := map[string]map[string]string{}
	for _, r := range srv.Requests(method) {
		p := map[string]string{}
		for k, v := range r.Params {
			if k != "auth" && k != "CALL_ID" {
				p[k] = str(v)
			}
		}
		key := keyOf[str(r.Params["CALL_ID"])]
		if ext, ok := r.Params["EXTERNAL_CALL_ID"]; ok {
			key = str(ext)
		}
		out[key] = p
	}
	return out
}

func TestPushCallsFailures(t *testing.T) {
	recs := make([]crmsync.CallRecord, 4)
	for i := range recs {
		recs[i] = callRecord(fmt.Sprintf("generic:c%d", i), call.DirectionInbound, call.StatusAnswered, uint32(10+i))
		recs[i].ClientPhone = fmt.Sprintf("+7916123456%d", i)
	}

	t.Run("a failed command fails only its call", func(t *testing.T) {
		f := newFixture(t, nil)
		rs := slices.Clone(recs)
		rs[1].CRMUserID = "99" // not a user of the portal: ERROR_CORE on its register
		res := f.c.PushCalls(context.Background(), rs)
		for i, r := range res {
			if ce := crmsync.Classify(r.Err); (i == 1) != (ce != nil) || i == 1 && ce.Retryable {
				t.Errorf("call %d: %v; want only call 1 failed, permanently", i, r.Err)
			}
		}
		if n := finished(f.srv); n != 3 {
			t.Errorf("finished calls = %d, want 3", n)
		}
	})

	t.Run("a failed finish batch is retried without registering again", func(t *testing.T) {
		f := newFixture(t, nil)
		f.srv.Fail("batch", bitrix24test.Fault{}) // the registers go through
		f.srv.Fail("batch", bitrix24test.Fault{Status: 503, Code: "QUERY_LIMIT_EXCEEDED"})
		for i, r := range f.c.PushCalls(context.Background(), recs) {
			if ce := crmsync.Classify(r.Err); ce == nil || !ce.Retryable {
				t.Fatalf("call %d: %v; want retryable", i, r.Err)
			}
		}
		pushAll(t, f.c, recs)
		if n := len(f.srv.Requests("telephony.externalCall.register")); n != len(recs) {
			t.Errorf("registers = %d, want %d (none repeated)", n, len(recs))
		}
		if n := finished(f.srv); n != len(recs) {
			t.Errorf("finished calls = %d, want %d", n, len(recs))
		}
	})

	t.Run("a lost answer to the finishes counts once", func(t *testing.T) {
		f := newFixture(t, nil)
		f.srv.Fail("batch", bitrix24test.Fault{})
		f.srv.Fail("batch", bitrix24test.Fault{Status: 500, Code: "INTERNAL_SERVER_ERROR", After: true})
		f.c.PushCalls(context.Background(), recs)
		pushAll(t, f.c, recs)
		if n := len(f.srv.Calls()); n != len(recs) {
			t.Errorf("calls = %d, want %d: each once", n, len(recs))
		}
		if n := finished(f.srv); n != len(recs) {
			t.Errorf("finished calls = %d, want %d", n, len(recs))
		}
	})

	t.Run("calls already finished are not pushed again", func(t *testing.T) {
		f := newFixture(t, nil)
		pushAll(t, f.c, recs)
		before := len(f.srv.Requests(""))
		pushAll(t, f.c, recs)
		if after := len(f.srv.Requests("")); after != before {
			t.Errorf("requests grew from %d to %d pushing finished calls again", before, after)
		}
	})
}

// pushAll pushes recs in one batch and fails the test on any error.
func pushAll(t *testing.T, c *Client, recs []crmsync.CallRecord) {
	t.Helper()
	for i, r := range c.PushCalls(context.Background(), recs) {
		if r.Err != nil || r.Ref.ID == "" {
			t.Fatalf("call %d: %+v", i, r)
		}
	}
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

// TestInnerPhones: an unmapped extension is matched to the Bitrix24 user
// whose internal number it is; an extension no user has goes, on the
// retry, to the default user.
func TestInnerPhones(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			clk := newClock()
			srv := bitrix24test.New(bitrix24test.Options{Now: clk.Now, Users: []int{1, 17}, InnerPhones: map[string]int{"101": 17}})
			t.Cleanup(srv.Close)
			tok := srv.IssueTokens()
			c, err := New(Options{Endpoint: srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret", OAuthURL: srv.OAuthURL(),
				Tokens:        &memStore{t: Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}},
				DefaultUserID: "1", InnerPhones: true, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			push := func(r crmsync.CallRecord) error {
				if batch {
					return c.PushCalls(context.Background(), []crmsync.CallRecord{r})[0].Err
				}
				_, err := c.PushCall(context.Background(), r)
				return err
			}
			known := callRecord("generic:k", call.DirectionInbound, call.StatusAnswered, 30)
			known.CRMUserID, known.Manager = "", "101"
			if err := push(known); err != nil {
				t.Fatalf("push with extension 101: %v", err)
			}
			stranger := callRecord("generic:s", call.DirectionInbound, call.StatusAnswered, 30)
			stranger.CRMUserID, stranger.Manager, stranger.ClientPhone = "", "199", "+79161230000"
			if ce := crmsync.Classify(push(stranger)); ce == nil || !ce.Retryable {
				t.Fatalf("first push with extension 199 = %v, want a retryable error", ce)
			}
			if err := push(stranger); err != nil {
				t.Fatalf("retry with extension 199: %v", err)
			}
			users := map[string]int{}
			for _, cl := range srv.Calls() {
				if cl.Finish != nil {
					users[cl.ExternalCallID] = cl.UserID
				}
			}
			if users["generic:k"] != 17 || users["generic:s"] != 1 {
				t.Errorf("finished calls' users = %v, want generic:k → 17 (internal number 101), generic:s → 1 (default)", users)
			}
		})
	}
}
