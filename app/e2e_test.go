package app

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/internal/chtest"
)

// The fixture day is 2026-11-20 in Moscow (UTC+3). Expected talk time, by
// hand from the calls below and testdata/clients.csv:
//
//	c1 alice, client 1 (A), answered 09:15:07–09:19:41      → alice A 274
//	c2 alice, client 2 (B; becomes A only on 11-21)          → alice B 120
//	c3 boris (ext 102), client 3 (C), 60 s                    → boris C 60
//	c4 boris (ext 112), client 4 (ungraded), 30 s             → boris unknown 30
//	c5 alice, client 1, missed                                → nothing
//	c6 boris, a caller not in the CSV, 45 s                   → boris unknown 45
//	c7 alice, client 1, 2026-11-21 00:30 Moscow, 100 s        → 11-21 only
//	c8 alice, client 2, 2026-11-21 10:00 Moscow, 50 s         → 11-21, category A by then
//	c9 ext 199 (not configured), client 1, 11-20, 10 s        → "199" A 10
var fixtureCalls = []string{
	snapshot("c1", "inbound", "+79160000001", "101", "answered", "2026-11-20T09:15:00+03:00", "2026-11-20T09:15:07+03:00", "2026-11-20T09:19:41+03:00"),
	snapshot("c2", "outbound", "+79160000002", "101", "answered", "2026-11-20T10:00:00+03:00", "2026-11-20T10:00:10+03:00", "2026-11-20T10:02:10+03:00"),
	snapshot("c3", "inbound", "89160000003", "102", "answered", "2026-11-20T11:00:00+03:00", "2026-11-20T11:00:05+03:00", "2026-11-20T11:01:05+03:00"),
	snapshot("c4", "inbound", "+7 916 000-00-04", "112", "answered", "2026-11-20T12:00:00+03:00", "2026-11-20T12:00:02+03:00", "2026-11-20T12:00:32+03:00"),
	snapshot("c5", "inbound", "+79160000001", "", "missed", "2026-11-20T13:00:00+03:00", "", "2026-11-20T13:00:30+03:00"),
	snapshot("c6", "inbound", "+79169999999", "102", "answered", "2026-11-20T14:00:00+03:00", "2026-11-20T14:00:15+03:00", "2026-11-20T14:01:00+03:00"),
	snapshot("c7", "inbound", "+79160000001", "101", "answered", "2026-11-21T00:30:00+03:00", "2026-11-21T00:30:00+03:00", "2026-11-21T00:31:40+03:00"),
	snapshot("c8", "outbound", "+79160000002", "101", "answered", "2026-11-21T10:00:00+03:00", "2026-11-21T10:00:05+03:00", "2026-11-21T10:00:55+03:00"),
	snapshot("c9", "inbound", "+79160000001", "199", "answered", "2026-11-20T15:00:00+03:00", "2026-11-20T15:00:01+03:00", "2026-11-20T15:00:11+03:00"),
}

// inProgress are snapshots sent when c1 and c3 were answered (no end yet);
// they arrive after the final snapshots, as a retrying PBX may send them.
var inProgress = []string{
	snapshot("c1", "inbound", "+79160000001", "101", "answered", "2026-11-20T09:15:00+03:00", "2026-11-20T09:15:07+03:00", ""),
	snapshot("c3", "inbound", "+79160000003", "102", "answered", "2026-11-20T11:00:00+03:00", "2026-11-20T11:00:05+03:00", ""),
}

var wantNov20 = map[string]uint64{
	"alice:A": 274, "alice:B": 120,
	"boris:C": 60, "boris:unknown": 75,
	"199:A": 10,
}

var wantNov21 = map[string]uint64{"alice:A": 150}

func postFixture(t *testing.T, d *daemon) {
	t.Helper()
	// Each final snapshot twice (once in a batch), then the stale ones.
	for _, body := range fixtureCalls {
		if code, resp := d.post(body, genericToken); code != http.StatusOK {
			t.Fatalf("post: %d %s", code, resp)
		}
	}
	batch := "[" + strings.Join(fixtureCalls, ",") + "]"
	if code, resp := d.post(batch, genericToken); code != http.StatusOK {
		t.Fatalf("post batch: %d %s", code, resp)
	}
	for _, body := range inProgress {
		if code, resp := d.post(body, genericToken); code != http.StatusOK {
			t.Fatalf("post: %d %s", code, resp)
		}
	}
}

func importFixtureClients(t *testing.T, dsn string) {
	importClients(t, dsn, "testdata/clients.csv", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	// Client 2 is re-graded A on 11-21: talk time of 11-20 must not change.
	importClients(t, dsn, "testdata/clients-later.csv", time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
}

func TestEndToEndTalkTime(t *testing.T) {
	dsn := chtest.NewDatabase(t)
	importFixtureClients(t, dsn)
	d := startDaemon(t, newConfig(t, dsn, t.TempDir()))
	postFixture(t, d)
	d.waitDrained()

	got, rep := d.talkTime("2026-11-20", "2026-11-20")
	if !reflect.DeepEqual(got, wantNov20) {
		t.Errorf("talk time 2026-11-20:\n got %v\nwant %v", got, wantNov20)
	}
	for _, m := range rep.Managers {
		if m.Manager == "alice" {
			if want := 274.0 / 394.0; fmt.Sprintf("%.6f", m.Share["A"]) != fmt.Sprintf("%.6f", want) {
				t.Errorf("alice A share = %v, want %v", m.Share["A"], want)
			}
			if m.Calls != 2 {
				t.Errorf("alice answered calls = %d, want 2", m.Calls)
			}
		}
	}
	if rep.Target["A"] != 0.80 || rep.Target["B"] != 0.19 || rep.Target["C"] != 0.01 {
		t.Errorf("targets = %v, want the defaults .80/.19/.01", rep.Target)
	}
	if got, _ := d.talkTime("2026-11-21", "2026-11-21"); !reflect.DeepEqual(got, wantNov21) {
		t.Errorf("talk time 2026-11-21:\n got %v\nwant %v", got, wantNov21)
	}
	code, body := d.get("/api/v1/talk-time?from=2026-11-20&to=2026-11-20&manager=boris", apiToken)
	if code != http.StatusOK || !strings.Contains(string(body), `"boris"`) || strings.Contains(string(body), `"alice"`) {
		t.Errorf("manager filter: %d %s", code, body)
	}
}

func TestAPIRequiresToken(t *testing.T) {
	d := startDaemon(t, newConfig(t, chtest.NewDatabase(t), t.TempDir()))
	for _, token := range []string{"", "wrong", genericToken} {
		if code, _ := d.get("/api/v1/talk-time?from=2026-11-20&to=2026-11-20", token); code != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", token, code)
		}
	}
	if code, body := d.get("/api/v1/talk-time?from=2026-11-21&to=2026-11-20", apiToken); code != http.StatusBadRequest {
		t.Errorf("reversed period: %d %s, want 400", code, body)
	}
}

func TestBadWebhooksStoreNothing(t *testing.T) {
	d := startDaemon(t, newConfig(t, chtest.NewDatabase(t), t.TempDir()))
	good := fixtureCalls[0]
	tests := []struct {
		name, body, token string
		want              int
		wantInBody        string
	}{
		{"no token", good, "", 401, "Bearer"},
		{"wrong token", good, "nope", 401, "wrong token"},
		{"api token is not the webhook token", good, apiToken, 401, "wrong token"},
		{"oversize", `{"call_id":"` + strings.Repeat("x", 5000) + `"}`, genericToken, 413, "larger than 4096"},
		{"not json", "call_id=c1", genericToken, 400, "JSON"},
		{"bad field", strings.Replace(good, `"inbound"`, `"sideways"`, 1), genericToken, 400, `"field":"direction"`},
		{"one bad item spoils the batch", "[" + good + "," + strings.Replace(good, `"+79160000001"`, `"12"`, 1) + "]", genericToken, 400, `"field":"[1].client_phone"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := d.post(tt.body, tt.token)
			if code != tt.want || !strings.Contains(body, tt.wantInBody) {
				t.Errorf("got %d %s, want %d containing %q", code, body, tt.want, tt.wantInBody)
			}
		})
	}
	if n := d.app.spool.Stats().LastSeq; n != 0 {
		t.Errorf("spool holds %d records after only bad requests, want 0", n)
	}
}

// TestClickHouseDown: webhooks are acknowledged while ClickHouse is down
// and while the daemon restarts; once it is back everything is written
// exactly once.
func TestClickHouseDown(t *testing.T) {
	server := chtest.Start(t)
	dsn := chtest.DatabaseOn(t, server.Addr())
	importFixtureClients(t, dsn)
	dataDir := t.TempDir()
	d := startDaemon(t, newConfig(t, dsn, dataDir))
	d.waitDrained()

	server.Stop()
	half := len(fixtureCalls) / 2
	for _, body := range fixtureCalls[:half] {
		if code, resp := d.post(body, genericToken); code != http.StatusOK {
			t.Fatalf("post with ClickHouse down: %d %s", code, resp)
		}
	}
	if code, _ := d.get("/readyz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with ClickHouse down = %d, want 503", code)
	}
	// Restart the daemon while ClickHouse is still down: the backlog is on disk.
	d.stop()
	d = startDaemon(t, newConfig(t, dsn, dataDir))
	postFixture(t, d) // everything again, including the first half
	server.Restart()
	d.waitDrained()

	if got, _ := d.talkTime("2026-11-20", "2026-11-20"); !reflect.DeepEqual(got, wantNov20) {
		t.Errorf("talk time after outage:\n got %v\nwant %v", got, wantNov20)
	}
	if code, body := d.get("/readyz", ""); code != http.StatusOK {
		t.Errorf("readyz after recovery = %d %s", code, body)
	}
}

// phoneInLabels finds a phone-like run of digits inside a label set.
var phoneInLabels = regexp.MustCompile(`="\+?\d{10,15}"`)

func TestMetrics(t *testing.T) {
	dsn := chtest.NewDatabase(t)
	importFixtureClients(t, dsn)
	cfg := newConfig(t, dsn, t.TempDir())
	d := startDaemon(t, cfg)
	postFixture(t, d)
	d.waitDrained()

	code, body := d.get("/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	promtoolCheck(t, body)
	text := string(body)
	for _, want := range []string{
		`callpulse_ingest_requests_total{code="200",provider="generic"}`,
		`callpulse_spool_fsync_duration_seconds_bucket`,
		`callpulse_clickhouse_rows_written_total{table="call_events"}`,
		`callpulse_talk_seconds{category="A",manager="alice"}`,
		`callpulse_calls{status="answered"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if m := phoneInLabels.FindString(text); m != "" {
		t.Errorf("/metrics has a phone number in labels: %s", m)
	}
}

// TestSpoolFullAnswers503: with ClickHouse unreachable the spool cannot
// drain; once it reaches spool.max_bytes webhooks get 503 with Retry-After,
// never a 2xx for something not on disk.
func TestSpoolFullAnswers503(t *testing.T) {
	cfg := newConfig(t, "clickhouse://127.0.0.1:1/unreachable", t.TempDir())
	cfg.Spool.MaxBytes, cfg.Spool.SegmentBytes = 4096, 4096
	d := startDaemon(t, cfg)
	accepted := 0
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("spool never filled up")
		}
		body := snapshot(fmt.Sprintf("full-%d", i), "inbound", "+79160000001", "101", "missed", "2026-11-20T13:00:00+03:00", "", "")
		req, _ := http.NewRequest(http.MethodPost, d.base+"/webhooks/generic", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+genericToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			accepted++
			continue
		}
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("when full: %d Retry-After=%q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		break
	}
	if got := d.app.spool.Stats().LastSeq; got != uint64(accepted) {
		t.Errorf("spool holds %d records, %d were acknowledged", got, accepted)
	}
}
