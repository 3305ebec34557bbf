package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
	"github.com/callpulse/callpulse/internal/chtest"
)

// TestCRMPushExactlyOnce: webhooks in, each call lands in the amoCRM
// emulator once — with every webhook delivered twice and a daemon restart
// in the middle — and the missed inbound call becomes a callback task.
func TestCRMPushExactlyOnce(t *testing.T) {
	emu := amocrmtest.New(amocrmtest.Options{Token: "amo-token"})
	t.Cleanup(emu.Close)
	for _, p := range []string{"+79160000001", "+79160000002", "+79160000003", "+79160000004"} {
		emu.KnowPhone(p)
	}
	dsn := chtest.NewDatabase(t)
	dataDir := t.TempDir()
	cfg := func() *config.Config {
		c := newConfig(t, dsn, dataDir)
		c.CRM.AmoCRM.BaseURL, c.CRM.AmoCRM.Token = emu.URL, "amo-token"
		c.CRM.AmoCRM.Pull.Interval = 0
		c.CRM.Settle = 10 * time.Millisecond
		return c
	}
	d := startDaemon(t, cfg())
	for _, body := range fixtureCalls[:5] {
		for range 2 {
			if code, resp := d.post(body, genericToken); code != http.StatusOK {
				t.Fatalf("post: %d %s", code, resp)
			}
		}
	}
	d.stop()
	d = startDaemon(t, cfg())
	for _, body := range fixtureCalls[:5] {
		if code, resp := d.post(body, genericToken); code != http.StatusOK {
			t.Fatalf("post after restart: %d %s", code, resp)
		}
	}

	deadline := time.Now().Add(60 * time.Second)
	for len(emu.Calls()) < 5 || len(emu.Tasks()) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("emulator got %d calls and %d tasks, want 5 and 1", len(emu.Calls()), len(emu.Tasks()))
		}
		time.Sleep(20 * time.Millisecond) // the outbox pushes asynchronously
	}
	seen := map[string]int{}
	for _, c := range emu.Calls() {
		seen[c.Key]++
	}
	for key, n := range seen {
		if n != 1 {
			t.Errorf("call %s pushed %d times, want once", key, n)
		}
	}
	if len(seen) != 5 {
		t.Errorf("distinct calls pushed = %d, want 5: %v", len(seen), seen)
	}
	if n := len(emu.Tasks()); n != 1 {
		t.Errorf("callback tasks = %d, want 1 (for the missed call c5)", n)
	}
}
