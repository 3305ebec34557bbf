package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/internal/chtest"
)

// TestTouchesAndQueue: touches posted with the API token score their lead
// and the lead shows in the call queue; the analytics endpoints answer.
func TestTouchesAndQueue(t *testing.T) {
	dsn := chtest.NewDatabase(t)
	importFixtureClients(t, dsn)
	d := startDaemon(t, newConfig(t, dsn, t.TempDir()))
	d.waitDrained() // migrations applied

	touches := `[{"touch_id":"t1","phone":"+79160000003","action":"pricing_page","at":"2026-11-20T10:00:00+03:00"},
	             {"touch_id":"t2","phone":"+79160000003","action":"application","at":"2026-11-20T10:05:00+03:00"}]`
	post := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, d.base+"/api/v1/touches", strings.NewReader(touches))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(genericToken); code != http.StatusUnauthorized {
		t.Errorf("touches with the webhook token: %d, want 401", code)
	}
	for range 2 { // idempotent by touch_id
		if code := post(apiToken); code/100 != 2 {
			t.Fatalf("touches: %d", code)
		}
	}
	code, body := d.get("/api/v1/queue?all=true", apiToken)
	if code != http.StatusOK {
		t.Fatalf("queue: %d %s", code, body)
	}
	var q struct {
		Leads []struct {
			Phone string `json:"phone"`
			Score int64  `json:"score"`
		} `json:"leads"`
	}
	if err := json.Unmarshal(body, &q); err != nil {
		t.Fatal(err)
	}
	if len(q.Leads) != 1 || q.Leads[0].Phone != "+79160000003" || q.Leads[0].Score != 15+20 {
		t.Errorf("queue = %+v, want +79160000003 with 35 points (pricing_page 15 + application 20, once each)", q.Leads)
	}
	for _, path := range []string{"/api/v1/missed?from=2026-11-20&to=2026-11-20", "/api/v1/speed-to-lead?from=2026-11-20&to=2026-11-20",
		"/api/v1/repeat-callers?from=2026-11-20&to=2026-11-20", "/api/v1/sources?from=2026-11-20&to=2026-11-20",
		"/api/v1/refusals?from=2026-11-20&to=2026-11-20"} {
		if code, body := d.get(path, apiToken); code != http.StatusOK {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
}
