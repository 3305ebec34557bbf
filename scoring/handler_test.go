package scoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/scoring"
)

// touchJSON is one touch of a request body.
func touchJSON(fields string) string {
	return `{"phone": "+79160000301", "action": "site_visit", "at": "2026-11-20T10:00:00+03:00"` + fields + `}`
}

// score returns the current score of one lead of the queue (all=true).
func score(t *testing.T, s *scoring.Scorer, lead string) int64 {
	t.Helper()
	q, err := s.Queue(context.Background(), scoring.MaxQueueLimit, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range q.Leads {
		if key(l.Phone, l.LeadID) == lead {
			return l.Score
		}
	}
	t.Fatalf("lead %s is not in the queue", lead)
	return 0
}

func TestTouchesAreIdempotent(t *testing.T) {
	e := newEnv(t)
	s := e.scorer(t, nil)
	h := e.handler(t, s)
	steps := []struct {
		name string
		body string
		want int64 // the lead's score after the step
	}{
		{"a touch with an id", touchJSON(`, "touch_id": "t-1", "action": "pricing_page"`), 15},
		{"the same id again", touchJSON(`, "touch_id": "t-1", "action": "pricing_page"`), 15},
		{"a touch without an id", touchJSON(`, "at": "2026-11-20T11:00:00+03:00"`), 20},
		{"the same content again, phone spelled otherwise", `{"phone": "8 (916) 000-03-01", "action": "site_visit", "at": "2026-11-20T08:00:00Z"}`, 20},
		{"an array repeating both", "[" + touchJSON(`, "touch_id": "t-1", "action": "pricing_page"`) + "," +
			touchJSON(`, "at": "2026-11-20T11:00:00+03:00"`) + "]", 20},
		{"a corrected touch: the newest version wins", touchJSON(`, "touch_id": "t-1", "action": "application"`), 25},
	}
	for _, st := range steps {
		rec := e.post(t, h, []byte(st.body))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", st.name, rec.Code, rec.Body)
		}
		if got := score(t, s, "+79160000301"); got != st.want {
			t.Errorf("%s: score %d, want %d", st.name, got, st.want)
		}
	}
}

func TestTouchesRejectBadInput(t *testing.T) {
	e := newEnv(t)
	h := e.handler(t, e.scorer(t, nil))
	good := touchJSON("")
	array := func(bad string) string { return "[" + good + "," + bad + "]" }
	tooMany := "[" + strings.Repeat("{},", scoring.MaxTouches) + "{}]"
	tests := []struct {
		name  string
		body  string
		ctype string
		code  int
		field string
	}{
		{"unknown action", array(touchJSON(`, "action": "webinar"`)), "", 400, "[1].action"},
		{"no action", `{"phone": "+79160000301", "at": "2026-11-20T10:00:00Z"}`, "", 400, "action"},
		{"time without offset", array(touchJSON(`, "at": "2026-11-20T10:00:00"`)), "", 400, "[1].at"},
		{"time not RFC 3339", array(touchJSON(`, "at": "20.11.2026 10:00"`)), "", 400, "[1].at"},
		{"time far in the future", array(touchJSON(`, "at": "2026-11-22T12:00:01Z"`)), "", 400, "[1].at"},
		{"time before 2000", array(touchJSON(`, "at": "1999-12-31T23:59:59Z"`)), "", 400, "[1].at"},
		{"no time", `{"phone": "+79160000301", "action": "site_visit"}`, "", 400, "at"},
		{"neither phone nor lead_id", array(`{"action": "site_visit", "at": "2026-11-20T10:00:00Z"}`), "", 400, "[1].phone"},
		{"empty phone and lead_id", array(touchJSON(`, "phone": "", "lead_id": null`)), "", 400, "[1].phone"},
		{"bad phone", array(touchJSON(`, "phone": "12"`)), "", 400, "[1].phone"},
		{"unknown field", array(touchJSON(`, "score": 5`)), "", 400, "[1].score"},
		{"wrong type", array(touchJSON(`, "at": 1795176000`)), "", 400, "[1].at"},
		{"long touch_id", array(touchJSON(`, "touch_id": "` + strings.Repeat("x", scoring.MaxTouchIDLen+1) + `"`)), "", 400, "[1].touch_id"},
		{"control character in lead_id", array(touchJSON(`, "lead_id": "a\u0007b"`)), "", 400, "[1].lead_id"},
		{"long utm_source", array(touchJSON(`, "utm_source": "` + strings.Repeat("u", scoring.MaxUTMSourceLen+1) + `"`)), "", 400, "[1].utm_source"},
		{"not an object in the array", array(`"site_visit"`), "", 400, "[1]"},
		{"array too long", tooMany, "", 400, ""},
		{"empty array", `[]`, "", 400, ""},
		{"empty body", ``, "", 400, ""},
		{"not JSON", `site_visit`, "", 400, ""},
		{"data after the object", good + good, "", 400, ""},
		{"broken array", "[" + good, "", 400, ""},
		{"body too large", "[" + strings.Repeat(good+",", 1000) + good + "]", "", 413, ""},
		{"not JSON content type", good, "text/plain", 415, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/touches", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			var body struct{ Error, Field string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
				t.Fatalf("body %q: want {\"error\": ...} (%v)", rec.Body, err)
			}
			if body.Field != tt.field {
				t.Errorf("field %q, want %q (error %q)", body.Field, tt.field, body.Error)
			}
			if strings.Contains(rec.Body.String(), "9160000301") {
				t.Errorf("the answer names the phone: %s", rec.Body)
			}
		})
	}
	if n := e.storedTouches(t); n != 0 {
		t.Errorf("%d touches stored from refused requests", n)
	}
}

// TestTouchesClickHouseDown stops a private ClickHouse: touches are refused
// with 503 and Retry-After, never acknowledged, and accepted again once it
// is back.
func TestTouchesClickHouseDown(t *testing.T) {
	srv := chtest.Start(t)
	e := newEnvOn(t, chtest.DatabaseOn(t, srv.Addr()))
	h := e.handler(t, e.scorer(t, nil))
	first, second := touchJSON(`, "touch_id": "up"`), touchJSON(`, "touch_id": "down"`)
	if rec := e.post(t, h, []byte(first)); rec.Code != http.StatusOK {
		t.Fatalf("with ClickHouse up: %d %s", rec.Code, rec.Body)
	}

	srv.Stop()
	rec := e.post(t, h, []byte(second))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("with ClickHouse down: %d %s, want 503", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After %q, want 5", got)
	}

	srv.Restart()
	// The sender retries on 503, as documented; the pool may need a few
	// requests to replace its broken connections.
	for attempt := 1; ; attempt++ {
		rec := e.post(t, h, []byte(second))
		if rec.Code == http.StatusOK {
			break
		}
		if rec.Code != http.StatusServiceUnavailable || attempt == 5 {
			t.Fatalf("after the restart, attempt %d: %d %s", attempt, rec.Code, rec.Body)
		}
	}
	var keys []string
	rows, err := e.db.Conn().Query(context.Background(), "SELECT DISTINCT touch_id FROM touches ORDER BY touch_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if want := []string{"down", "up"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("stored touch ids %v, want %v", keys, want)
	}
}

func TestQueueHandler(t *testing.T) {
	e := newEnv(t)
	e.loadScenario(t)
	h := e.handler(t, e.scorer(t, nil))
	get := func(query string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/queue"+query, nil))
		return rec
	}

	rec := get("")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/queue: %d %s", rec.Code, rec.Body)
	}
	var rep scoring.QueueReport
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range rep.Leads {
		got = append(got, fmt.Sprintf("%s %d %s/%s %s", key(l.Phone, l.LeadID), l.Score, l.Manager, l.ManagerName, l.Source))
	}
	want := []string{
		"+79160000201 50 bob/Борис seo", // the extension of its deal
		"lead:crm-77 40 / yandex",
		"+79160000202 40 alice/Алиса vk_ads",
	}
	if rep.Threshold != 32 || rep.ThresholdSource != scoring.Calibrated || rep.Sample != 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("queue: threshold %v %s sample %d, leads\n%s\nwant threshold 32 calibrated sample 3, leads\n%s",
			rep.Threshold, rep.ThresholdSource, rep.Sample, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if err := json.Unmarshal(get("?all=true&limit=4").Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Leads) != 4 || rep.Leads[3].AboveThreshold || !rep.Leads[2].AboveThreshold {
		t.Errorf("all=true&limit=4: %+v", rep.Leads)
	}

	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=ten", "?all=maybe"} {
		if rec := get(q); rec.Code != http.StatusBadRequest {
			t.Errorf("GET /api/v1/queue%s: %d, want 400", q, rec.Code)
		}
	}
}
