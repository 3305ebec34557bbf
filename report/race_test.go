package report

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/internal/chtest"
)

// fireAt is a schedule that fires once, at a given instant.
type fireAt time.Time

func (f fireAt) Next(t time.Time) time.Time {
	if t.Before(time.Time(f)) {
		return time.Time(f)
	}
	return time.Time{}
}

// TestTwoSchedulersSendOnce starts two daemons' schedulers on the same
// ClickHouse, both firing at the same instant: each recipient gets one
// e-mail. Then a restart (a new scheduler whose catch-up finds the run)
// sends none.
func TestTwoSchedulersSendOnce(t *testing.T) {
	dsn := chtest.NewDatabase(t)
	db1 := fixtureDBOn(t, dsn)
	mail := startMaildev(t)
	svc1, m1 := newTestService(t, db1, mail.smtpPort, "replica-1")
	db2 := openDB(t, dsn)
	svc2, m2 := newTestService(t, db2, mail.smtpPort, "replica-2")

	at := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []Result, 2)
	var wg sync.WaitGroup
	for _, svc := range []*Service{svc1, svc2} {
		s, err := NewScheduler(svc, SchedulerOptions{Schedule: fireAt(at), Location: moscow,
			OnRun: func(_ time.Time, r []Result) { done <- r }})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	var all []Result
	for range 2 {
		select {
		case r := <-done:
			all = append(all, r...)
		case <-time.After(2 * time.Minute):
			t.Fatal("the schedulers did not run")
		}
	}
	cancel()
	wg.Wait()

	sent := map[string]int{}
	for _, r := range all {
		switch r.Result {
		case ResultSent:
			sent[r.Recipient]++
		case ResultSkipped:
		default:
			t.Errorf("%s: %s %v", r.Recipient, r.Result, r.Err)
		}
	}
	if sent[bossAddr] != 1 || sent[aliceAddr] != 1 {
		t.Errorf("sent per recipient %v, want 1 each", sent)
	}
	perRecipient := map[string]int{}
	for _, e := range mail.emails(t) {
		perRecipient[e.To[0].Address]++
	}
	if perRecipient[bossAddr] != 1 || perRecipient[aliceAddr] != 1 || len(perRecipient) != 2 {
		t.Errorf("maildev received %v, want one e-mail per recipient", perRecipient)
	}
	total := counterValue(t, m1.sent.WithLabelValues(ResultSent)) + counterValue(t, m2.sent.WithLabelValues(ResultSent))
	if total != 2 {
		t.Errorf("sent_total over both replicas = %v, want 2", total)
	}

	// A restart after sending: the catch-up finds the scheduled run and
	// sends nothing.
	svc3, m3 := newTestService(t, openDB(t, dsn), mail.smtpPort, "replica-1-restarted")
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	s, err := NewScheduler(svc3, SchedulerOptions{Schedule: fireAt(at), Location: moscow,
		Now: func() time.Time { return at.Add(time.Minute) }, OnRun: func(_ time.Time, r []Result) { done <- r }})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Run(ctx) }()
	select {
	case r := <-done:
		for _, res := range r {
			if res.Result != ResultSkipped {
				t.Errorf("after restart %s: %s, want skipped", res.Recipient, res.Result)
			}
		}
	case <-time.After(time.Minute):
		t.Fatal("the restarted scheduler made up no run")
	}
	if n := len(mail.emails(t)); n != 2 {
		t.Errorf("after a restart maildev has %d e-mails, want 2", n)
	}
	if gaugeValue(t, m3.lastSuccess) == 0 {
		t.Error("the restarted replica's last-success gauge was not loaded from ClickHouse")
	}
}
