package analytics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/callpulse/callpulse/analytics"
)

// TestGaugesMissedAndLeads reads the callbacks scenario at 13 Nov 2026
// 10:00 Moscow: the missed-call window is 7–13 Nov, "today" 13 Nov and
// "month" 1–13 Nov.
func TestGaugesMissedAndLeads(t *testing.T) {
	store := callbacksStore(t)
	reg := prometheus.NewRegistry()
	g := analytics.NewGaugesWithOptions(reg, store, callbackTeam, analytics.GaugeOptions{
		CallbackSLA:     testSLA,
		Sources:         []string{"yandex_direct", "avito", "avito"},
		MaxExtraSources: 2,
	}, nil)
	g.SetClock(func() time.Time { return msk(t, "2026-11-13 10:00:00") })

	// Before the first refresh every bounded series exists at 0.
	want := `
# HELP callpulse_leads New leads (first contact ever) today or this month so far, by ad source.
# TYPE callpulse_leads gauge
callpulse_leads{period="month",source="avito"} 0
callpulse_leads{period="month",source="other"} 0
callpulse_leads{period="month",source="yandex_direct"} 0
callpulse_leads{period="today",source="avito"} 0
callpulse_leads{period="today",source="other"} 0
callpulse_leads{period="today",source="yandex_direct"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "callpulse_leads"); err != nil {
		t.Error(err)
	}

	// Twice: the second refresh must give the same numbers (no source
	// admitted twice, nothing added up).
	for range 2 {
		if err := g.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Open in the window: P6 (13 Nov 00:00; its 9 Nov call was called back
	// then), P3 — no owner; P7 and D2 — bob; P13 and P14 — alice (their
	// latest answered calls' managers); P10 (13 Nov 09:50, owner 555, 10
	// min old, within SLA) — other. P12 (6 Nov) is before the window; the rest were called
	// back.
	want = `
# HELP callpulse_missed_calls_open Missed calls of the last 7 days (today included) not called back yet, by the client's owner.
# TYPE callpulse_missed_calls_open gauge
callpulse_missed_calls_open{manager="alice"} 2
callpulse_missed_calls_open{manager="bob"} 2
callpulse_missed_calls_open{manager="other"} 1
callpulse_missed_calls_open{manager="unassigned"} 2
# HELP callpulse_missed_calls_past_sla Open missed calls of the last 7 days whose callback SLA has run out, by the client's owner.
# TYPE callpulse_missed_calls_past_sla gauge
callpulse_missed_calls_past_sla{manager="alice"} 2
callpulse_missed_calls_past_sla{manager="bob"} 2
callpulse_missed_calls_past_sla{manager="other"} 0
callpulse_missed_calls_past_sla{manager="unassigned"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "callpulse_missed_calls_open", "callpulse_missed_calls_past_sla"); err != nil {
		t.Error(err)
	}
	// Month leads by source: yandex_direct 14 (P1, P5, P6, P8, P10, P12,
	// P13, P14, L1–L4, D3, O1), avito 3 (P2, P3, P7), seo 2 (D1 won, D2), partner 1
	// (P9), vk_ads 1 (P4). Two extra sources fit: seo and partner (more
	// leads, then by name); vk_ads goes to other. Today: P10.
	want = `
# HELP callpulse_leads New leads (first contact ever) today or this month so far, by ad source.
# TYPE callpulse_leads gauge
callpulse_leads{period="month",source="avito"} 3
callpulse_leads{period="month",source="other"} 1
callpulse_leads{period="month",source="partner"} 1
callpulse_leads{period="month",source="seo"} 2
callpulse_leads{period="month",source="yandex_direct"} 14
callpulse_leads{period="today",source="avito"} 0
callpulse_leads{period="today",source="other"} 0
callpulse_leads{period="today",source="partner"} 0
callpulse_leads{period="today",source="seo"} 0
callpulse_leads{period="today",source="yandex_direct"} 1
# HELP callpulse_leads_won Leads of today or of this month with a won deal (so far), by ad source.
# TYPE callpulse_leads_won gauge
callpulse_leads_won{period="month",source="avito"} 0
callpulse_leads_won{period="month",source="other"} 0
callpulse_leads_won{period="month",source="partner"} 0
callpulse_leads_won{period="month",source="seo"} 1
callpulse_leads_won{period="month",source="yandex_direct"} 0
callpulse_leads_won{period="today",source="avito"} 0
callpulse_leads_won{period="today",source="other"} 0
callpulse_leads_won{period="today",source="partner"} 0
callpulse_leads_won{period="today",source="seo"} 0
callpulse_leads_won{period="today",source="yandex_direct"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "callpulse_leads", "callpulse_leads_won"); err != nil {
		t.Error(err)
	}
}
