package scoring_test

import (
	"bytes"
	"context"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/scoring"
)

func TestGauges(t *testing.T) {
	// From the book of the touches, and in SQL (as on replicated tables).
	for kind, keep := range map[string]func(*scoring.Options){
		"book": nil,
		"sql":  func(o *scoring.Options) { o.KeepTouches = 0 },
	} {
		t.Run(kind, func(t *testing.T) { testGauges(t, keep) })
	}
}

func testGauges(t *testing.T, keep func(*scoring.Options)) {
	e := newEnv(t)
	e.loadScenario(t)
	reg := prometheus.NewRegistry()
	scorer := e.scorer(t, keep)
	g := scoring.NewGauges(reg, scorer, nil)
	if err := g.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP callpulse_lead_score_threshold Lead score threshold: the average score of leads converted in the look-back window, or the configured fallback.
# TYPE callpulse_lead_score_threshold gauge
callpulse_lead_score_threshold 32
# HELP callpulse_queue_leads_above_threshold Open leads whose score is at or above the lead score threshold (the call queue by default).
# TYPE callpulse_queue_leads_above_threshold gauge
callpulse_queue_leads_above_threshold 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"callpulse_lead_score_threshold", "callpulse_queue_leads_above_threshold"); err != nil {
		t.Error(err)
	}
	// The refresh published the queue for the dashboards, and says when.
	q, err := scorer.Queue(context.Background(), scoring.MaxQueueLimit, true)
	if err != nil {
		t.Fatal(err)
	}
	if th, leads := newestPublication(t, e); th != 32 || !reflect.DeepEqual(leads, q.Leads) {
		t.Errorf("published threshold %v, leads %+v; want 32, the queue %+v", th, leads, q.Leads)
	}
	if v := scoring.LastRefresh(g); v <= 0 {
		t.Errorf("callpulse_scoring_last_refresh_timestamp_seconds = %v after a refresh", v)
	}

	// A newly won deal moves both at the next refresh.
	e.importDeals(t, "d201_won.csv", scenarioNow.Add(-30*time.Minute))
	if err := g.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := strings.NewReplacer("threshold 32\n", "threshold 36.5\n", "above_threshold 3\n", "above_threshold 2\n").Replace(want)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(after),
		"callpulse_lead_score_threshold", "callpulse_queue_leads_above_threshold"); err != nil {
		t.Errorf("after D-201 is won: %v", err)
	}

	// The handler's counters live on the same registry in the daemon.
	if _, err := scoring.NewHandler(scoring.HandlerOptions{Scorer: e.scorer(t, nil), Store: e.db, Normalizer: e.norm,
		Team: team, MaxBody: 1, Timeout: 1, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	promtoolCheck(t, reg)
}

// promtoolCheck lints the registry's exposition with promtool check
// metrics.
func promtoolCheck(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		chtest.Unavailable(t, "promtool is not installed (Debian package prometheus)")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestGaugesRunStops checks that Run returns nil once ctx is done, without
// counting the refresh that the cancellation cut short as a failure.
func TestGaugesRunStops(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	g := scoring.NewGauges(reg, e.scorer(t, nil), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Run(ctx, time.Minute); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	want := `
# HELP callpulse_scoring_refresh_errors_total Failed refreshes of the lead scoring gauges and the call queue published for the dashboards.
# TYPE callpulse_scoring_refresh_errors_total counter
callpulse_scoring_refresh_errors_total 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "callpulse_scoring_refresh_errors_total"); err != nil {
		t.Error(err)
	}
}
