package report

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/backoff"
)

// fastBackoff keeps claim retries short in tests; the protocol's safety
// does not depend on it.
var fastBackoff = backoff.Policy{Base: 5 * time.Millisecond, Max: 50 * time.Millisecond}

var ru = newFormat(Russian, moscow)

// compareTalk checks a talk-time CSV, and the shares in the HTML, against
// the API's answer for the same period.
func compareTalk(t *testing.T, get func(string, any), path string, rows []map[string]string, html string) {
	t.Helper()
	var rep analytics.TalkReport
	get(path, &rep)
	if len(rep.Managers) == 0 {
		t.Fatalf("%s: the API reports no talk time; the fixture is wrong", path)
	}
	byManager := map[string]map[string]string{}
	withCalls := 0
	for _, r := range rows {
		byManager[r["manager"]] = r
		if r["total_seconds"] != "0" {
			withCalls++
		}
	}
	if withCalls != len(rep.Managers) {
		t.Errorf("%s: CSV has %d managers with talk time, the API %d", path, withCalls, len(rep.Managers))
	}
	for _, m := range rep.Managers {
		r := byManager[m.Manager]
		if r == nil {
			t.Errorf("%s: manager %s missing from the CSV", path, m.Manager)
			continue
		}
		want := map[string]string{"calls": utoa(m.Calls), "total_seconds": utoa(m.TotalSeconds), "name": m.Name}
		for _, c := range []string{"A", "B", "C", "unknown"} {
			key := strings.ToLower(c)
			want["seconds_"+key] = utoa(m.Seconds[c])
			want["share_"+key] = ftoa(m.Share[c])
		}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s: %s %s = %q in the e-mail, %q in the API", path, m.Manager, k, r[k], v)
			}
		}
		if s := ru.Pct(m.Share["A"]); !strings.Contains(html, s) {
			t.Errorf("%s: the HTML lacks %s's A share %s", path, m.Manager, s)
		}
	}
}

type apiSources struct {
	Sources []struct {
		Source          string      `json:"source"`
		Leads           uint64      `json:"leads"`
		Reached         uint64      `json:"reached"`
		Qualified       uint64      `json:"qualified"`
		Won             uint64      `json:"won"`
		Revenue         json.Number `json:"revenue"`
		UnreachableRate float64     `json:"unreachable_rate"`
	} `json:"sources"`
}

// compareSourcesAPI checks a sources CSV (and its previous-period columns)
// against the API's answers for both periods.
func compareSourcesAPI(t *testing.T, get func(string, any), from, prevFrom string, rows []map[string]string, html string) {
	t.Helper()
	var now, prev apiSources
	get("/api/v1/sources?from="+from, &now)
	get("/api/v1/sources?from="+prevFrom, &prev)
	if len(now.Sources) == 0 || len(rows) != len(now.Sources) {
		t.Fatalf("sources %s: CSV has %d rows, the API %d", from, len(rows), len(now.Sources))
	}
	before := map[string]string{}
	for _, s := range prev.Sources {
		before[s.Source] = join(utoa(s.Leads), utoa(s.Reached), utoa(s.Qualified), utoa(s.Won), s.Revenue.String())
	}
	for i, s := range now.Sources {
		r := rows[i]
		got := join(r["source"], r["leads"], r["reached"], r["qualified"], r["won"], r["revenue"], r["unreachable_rate"])
		want := join(s.Source, utoa(s.Leads), utoa(s.Reached), utoa(s.Qualified), utoa(s.Won), s.Revenue.String(), ftoa(s.UnreachableRate))
		if got != want {
			t.Errorf("sources %s row %d: e-mail %s, API %s", from, i, got, want)
		}
		wantPrev, ok := before[s.Source]
		if !ok {
			wantPrev = "0 0 0 0 0.00"
		}
		if gotPrev := join(r["prev_leads"], r["prev_reached"], r["prev_qualified"], r["prev_won"], r["prev_revenue"]); gotPrev != wantPrev {
			t.Errorf("sources %s %s previous: e-mail %s, API %s", from, s.Source, gotPrev, wantPrev)
		}
		if !strings.Contains(html, ">"+s.Source+"<") {
			t.Errorf("the HTML lacks source %s", s.Source)
		}
	}
}

// compareRefusals checks a refusals CSV against the API, for one manager
// or (manager "") all.
func compareRefusals(t *testing.T, get func(string, any), path, manager string, rows []map[string]string) {
	t.Helper()
	var rep analytics.RefusalReport
	get(path, &rep)
	var want, got []string
	for _, r := range rep.Refusals {
		if manager == "" || r.Manager == manager {
			want = append(want, join(r.Reason, r.Source, r.Manager, utoa(r.Count)))
		}
	}
	for _, r := range rows {
		got = append(got, join(r["reason"], r["source"], r["manager"], r["count"]))
	}
	sort.Strings(want)
	sort.Strings(got)
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("refusals %s (manager %q):\n e-mail %v\n API    %v", path, manager, got, want)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func join(fields ...string) string { return strings.Join(fields, " ") }
