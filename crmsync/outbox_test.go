package crmsync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/crmtest"
	"github.com/callpulse/callpulse/spool"
)

const (
	known   = "+79161234567"
	unknown = "+79169876543"
)

// signalSink passes batches to the outbox and reports each one.
type signalSink struct {
	next  spool.Sink
	wrote chan int // records per written batch
}

func (s *signalSink) Write(ctx context.Context, recs []spool.Record) error {
	if err := s.next.Write(ctx, recs); err != nil {
		return err
	}
	s.wrote <- len(recs)
	return nil
}

func TestEndToEndEachCallOnceDespiteDuplicatesAndRestart(t *testing.T) {
	r := newRig(t)
	r.srv.KnowPhone(known)
	r.cat.after[crmsync.CallKey("generic", "a1")] = 3 // the recording appears after the push

	sp, err := spool.Open(spool.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var events []call.Event
	events = append(events, answeredCall("a1", known)...)
	events = append(events, missedCall("m1", unknown)...)
	events = append(events, busyCall("b1", known)...)
	appendAll := func() {
		for range 2 { // every event delivered twice
			for _, e := range events {
				b, _ := e.Marshal()
				if _, err := sp.Append(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	consume := func() (wrote chan int, stop func()) {
		rd, err := sp.Reader(crmsync.Consumer)
		if err != nil {
			t.Fatal(err)
		}
		wrote = make(chan int, 100)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- spool.Consume(ctx, rd, &signalSink{next: r.ob, wrote: wrote}, spool.ConsumeOptions{MaxBatch: 4, MaxAge: time.Millisecond})
		}()
		return wrote, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Consume: %v", err)
			}
			rd.Close()
		}
	}

	appendAll()
	_, stopConsume := consume()
	r.waitUntil(t, "three calls, one task, one recording", func() bool {
		calls := r.srv.Calls()
		recorded := false
		for _, c := range calls {
			recorded = recorded || c.RecordingURL != ""
		}
		return len(calls) == 3 && len(r.srv.Tasks()) == 1 && r.idle() && recorded
	})
	stopConsume()

	r.restart(t)
	appendAll() // the same events again after the restart
	wrote, stopConsume := consume()
	for n := 0; n < 2*len(events); { // wait until every re-delivered record was written
		n += <-wrote
	}
	stopConsume()

	calls, tasks := r.srv.Calls(), r.srv.Tasks()
	byKey := map[string]crmtest.Call{}
	for _, c := range calls {
		if _, dup := byKey[c.Key]; dup {
			t.Errorf("call %s pushed twice", c.Key)
		}
		byKey[c.Key] = c
	}
	want := map[string]crmtest.Call{
		"generic:a1": {Key: "generic:a1", Phone: known, Direction: call.DirectionInbound, Answered: true, Duration: 132,
			UserID: "6543210", RecordingURL: recordingURL("generic", "a1")},
		"generic:m1": {Key: "generic:m1", Phone: unknown, Direction: call.DirectionInbound, UserID: "6543210"},
		"generic:b1": {Key: "generic:b1", Phone: known, Direction: call.DirectionOutbound},
	}
	for k, w := range want {
		if byKey[k] != w {
			t.Errorf("call %s = %+v, want %+v", k, byKey[k], w)
		}
	}
	if len(tasks) != 1 || tasks[0].Phone != unknown || tasks[0].UserID != "6543210" ||
		!tasks[0].Deadline.Equal(t0.Add(20*time.Second+crmsync.DefaultMissedSLA)) {
		t.Errorf("tasks = %+v, want one callback for the missed call due 15 min after it", tasks)
	}
	if got := testutil.ToFloat64(r.obMetric(t, "callpulse_crm_pushed_total")); got != 0 {
		t.Errorf("pushed after restart = %v, want 0", got)
	}
}

// obMetric returns the sum of a metric in the current registry.
func (r *rig) obMetric(t *testing.T, name string) *sumCollector {
	t.Helper()
	return &sumCollector{r: r, name: name, t: t}
}

func TestRetriesHonourRetryAfterAndPermanentErrorsDeadLetter(t *testing.T) {
	r := newRig(t)
	r.srv.KnowPhone(known)
	r.cat.all = true
	r.srv.FailNext(1, 429, 5*time.Second)
	r.srv.FailNext(1, 503, 0)
	r.write(t, busyCall("b1", known)...)
	r.waitUntil(t, "the call", func() bool { return len(r.srv.Calls()) == 1 && r.idle() })
	log := r.srv.Log()
	if len(log) != 3 || log[0].Status != 429 || log[1].Status != 503 || log[2].Status != 200 {
		t.Fatalf("requests = %+v, want 429, 503, 200", log)
	}
	if gap := log[1].At.Sub(log[0].At); gap < 5*time.Second {
		t.Errorf("retry %v after a 429 with Retry-After: 5, want at least 5s", gap)
	}
	if got := testutil.ToFloat64(r.obMetric(t, "callpulse_crm_retries_total")); got != 2 {
		t.Errorf("retries_total = %v, want 2", got)
	}

	r.srv.RevokeAuth()
	r.write(t, busyCall("b2", known)...)
	// The outbox stores the dead letter, then sets the gauge: wait for both.
	r.waitUntil(t, "a dead letter, counted", func() bool {
		d, _ := r.ob.DeadLetters()
		return len(d) == 1 && testutil.ToFloat64(r.obMetric(t, "callpulse_crm_dead_letters")) == 1
	})
	dl, _ := r.ob.DeadLetters()
	if d := dl[0]; d.ID != "amocrm/call/generic:b2" || d.Status != 401 || d.Kind != crmsync.KindCall ||
		!strings.Contains(d.Reason, "token invalid") || strings.Contains(d.Error, token) {
		t.Errorf("dead letter = %+v", d)
	}
	if got := testutil.ToFloat64(r.obMetric(t, "callpulse_crm_dead_letters")); got != 1 {
		t.Errorf("dead_letters = %v, want 1", got)
	}

	r.srv.RestoreAuth()
	if err := r.ob.Retry("amocrm/call/generic:b2"); err != nil {
		t.Fatal(err)
	}
	r.waitUntil(t, "the retried call", func() bool { return len(r.srv.Calls()) == 2 && r.idle() })
	if d, _ := r.ob.DeadLetters(); len(d) != 0 {
		t.Errorf("dead letters after retry = %+v", d)
	}
	if got := testutil.ToFloat64(r.obMetric(t, "callpulse_crm_dead_letters")); got != 0 {
		t.Errorf("dead_letters after retry = %v, want 0", got)
	}
	if err := r.ob.Retry("amocrm/call/nope"); err == nil {
		t.Error("Retry of an unknown id succeeded")
	}
}

func TestBurstOfCallsStaysWithinRateLimit(t *testing.T) {
	r := newRig(t)
	r.cat.all = true
	const n = 1000
	var events []call.Event
	for i := range n {
		p := fmt.Sprintf("+7916200%04d", i)
		r.srv.KnowPhone(p)
		events = append(events, answeredCall(fmt.Sprintf("c%d", i), p)...)
	}
	r.write(t, events...)
	r.waitUntil(t, "all calls", func() bool { return len(r.srv.Calls()) == n && r.idle() })
	if th := r.srv.Throttled(); th != 0 {
		t.Fatalf("emulator throttled %d requests: the 7 req/s limit was exceeded", th)
	}
	// Independently of the emulator's bucket: no 1 s window after the
	// initial burst of 7 holds more than 7 requests.
	log := r.srv.Log()
	for i := 7; i+7 < len(log); i++ {
		if w := log[i+7].At.Sub(log[i].At); w < time.Second {
			t.Fatalf("requests %d..%d within %v", i, i+7, w)
		}
	}
}
