package simulate

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/callpulse/callpulse/deal"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/scoring"
	"github.com/callpulse/callpulse/warehouse"
)

// The demo's CRM side: deals and touches for the simulated clients.

var (
	crmFrom = time.Date(2026, 11, 20, 0, 0, 0, 0, moscow)
	crmNow  = crmFrom.Add(17 * time.Hour)
)

func crmClients() []Client { return Clients(7, 600, []string{"101", "102", "103"}) }

func TestDealsAreDeterministicAndWithinTheDay(t *testing.T) {
	clients := crmClients()
	deals := Deals(7, clients, crmFrom, crmNow)
	if again := Deals(7, clients, crmFrom, crmNow); !reflect.DeepEqual(deals, again) {
		t.Fatal("the same seed gave other deals")
	}
	if other := Deals(8, clients, crmFrom, crmNow); reflect.DeepEqual(deals, other) {
		t.Fatal("another seed gave the same deals")
	}
	byPhone := map[string]Client{}
	for _, c := range clients {
		byPhone[c.Phone] = c
	}
	ids := map[string]bool{}
	for _, d := range deals {
		c, ok := byPhone[d.Phone]
		if !ok {
			t.Fatalf("deal %s: phone is no client's", d.ID)
		}
		if ids[d.ID] {
			t.Fatalf("deal id %s twice", d.ID)
		}
		ids[d.ID] = true
		if d.CreatedAt.Before(crmFrom) || !d.CreatedAt.Before(crmNow) {
			t.Errorf("deal %s created %v, want in [%v, %v)", d.ID, d.CreatedAt, crmFrom, crmNow)
		}
		closed := d.Stage != stageOpen
		if closed != !d.ClosedAt.IsZero() || (closed && (d.ClosedAt.Before(d.CreatedAt) || d.ClosedAt.After(crmNow))) {
			t.Errorf("deal %s: stage %s closed %v, created %v", d.ID, d.Stage, d.ClosedAt, d.CreatedAt)
		}
		if (d.Stage == stageLost) != (d.LossReason != "") {
			t.Errorf("deal %s: stage %s with loss reason %q", d.ID, d.Stage, d.LossReason)
		}
		if d.Manager != c.Manager || (d.Source != "" && d.Source != c.Source) || d.Amount <= 0 {
			t.Errorf("deal %s = %+v does not fit its client %+v", d.ID, d, c)
		}
	}
}

// TestDealsFollowGrades checks the shape the demo's funnel and refusals
// show: A clients win most often and C clients lose most often, mostly for
// want of a budget, which A clients never give as a reason.
func TestDealsFollowGrades(t *testing.T) {
	clients := Clients(7, 4000, []string{"101"})
	deals := Deals(7, clients, crmFrom, crmNow)
	gradeOf := map[string]grade{}
	count := map[grade]int{}
	for _, c := range clients {
		gradeOf[c.Phone] = clientGrade(c)
		count[clientGrade(c)]++
	}
	type tally struct{ deals, won, lost, noBudget int }
	by := map[grade]*tally{gradeA: {}, gradeB: {}, gradeC: {}, gradeUnknown: {}}
	for _, d := range deals {
		n := by[gradeOf[d.Phone]]
		n.deals++
		switch d.Stage {
		case stageWon:
			n.won++
		case stageLost:
			n.lost++
			if d.LossReason == "Нет бюджета" {
				n.noBudget++
			}
		}
	}
	share := func(a, b int) float64 { return float64(a) / float64(b) }
	a, c := by[gradeA], by[gradeC]
	if !(share(a.deals, count[gradeA]) > share(c.deals, count[gradeC]) && share(a.won, a.deals) > 3*share(c.won, c.deals) &&
		share(c.lost, c.deals) > 2*share(a.lost, a.deals)) {
		t.Errorf("A %+v of %d clients, C %+v of %d: want A to have deals and win more, C to lose more",
			*a, count[gradeA], *c, count[gradeC])
	}
	if a.noBudget != 0 || share(c.noBudget, c.lost) < 0.3 {
		t.Errorf("'no budget' from %d lost A deals and %d of %d lost C deals", a.noBudget, c.noBudget, c.lost)
	}
}

// TestDealsCSVImports checks that `callpulse import deals` takes the CSV
// whole and reads every field as written.
func TestDealsCSVImports(t *testing.T) {
	deals := Deals(7, crmClients(), crmFrom, crmNow)
	var buf bytes.Buffer
	if err := WriteDealsCSV(&buf, deals); err != nil {
		t.Fatal(err)
	}
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	imported, err := importer.ReadDeals(bytes.NewReader(buf.Bytes()), norm, moscow)
	if err != nil {
		t.Fatalf("import refuses the simulated deals: %v", err)
	}
	if len(imported) != len(deals) {
		t.Fatalf("imported %d deals of %d", len(imported), len(deals))
	}
	for i, d := range deals {
		got := imported[i]
		want := deal.Deal{ID: d.ID, Phone: d.Phone, Stage: deal.Stage(d.Stage), Amount: deal.Amount(d.Amount * 100),
			LossReason: d.LossReason, Source: d.Source, Manager: d.Manager, CreatedAt: d.CreatedAt, ClosedAt: d.ClosedAt}
		if !got.CreatedAt.Equal(want.CreatedAt) || !got.ClosedAt.Equal(want.ClosedAt) {
			t.Errorf("deal %s: imported times %v, %v; want %v, %v", d.ID, got.CreatedAt, got.ClosedAt,
				want.CreatedAt, want.ClosedAt)
		}
		got.CreatedAt, got.ClosedAt, want.CreatedAt, want.ClosedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if got != want {
			t.Errorf("deal %s imported as %+v, want %+v", d.ID, got, want)
		}
	}
}

// TestTouches checks that the touches pass the API's validation, fall in
// the day (a won lead's before its deal closed, so that they count towards
// the threshold), and score converted leads above those still open and
// those above the rest: the threshold then means something and the queue
// has leads above it.
func TestTouches(t *testing.T) {
	clients := crmClients()
	deals := Deals(7, clients, crmFrom, crmNow)
	touches := Touches(7, clients, deals, crmFrom, crmNow)
	if again := Touches(7, clients, deals, crmFrom, crmNow); !reflect.DeepEqual(touches, again) {
		t.Fatal("the same seed gave other touches")
	}
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	points := scoring.DefaultPoints()
	var parsed []warehouse.Touch
	for chunk := range slices.Chunk(touches, touchesPerPost) {
		body, err := touchesBody(chunk, moscow)
		if err != nil {
			t.Fatal(err)
		}
		p, err := scoring.ParseTouches(body, norm, slices.Collect(maps.Keys(points)), crmNow)
		if err != nil {
			t.Fatalf("the API refuses the simulated touches: %v", err)
		}
		parsed = append(parsed, p...)
	}
	if len(parsed) != len(touches) {
		t.Fatalf("parsed %d touches of %d", len(parsed), len(touches))
	}
	dealOf := map[string]Deal{}
	for _, d := range deals {
		dealOf[d.Phone] = d
	}
	ids := map[string]bool{}
	score := map[string]int{}
	for i, tc := range touches {
		if ids[tc.ID] {
			t.Fatalf("touch id %s twice", tc.ID)
		}
		ids[tc.ID] = true
		if p := parsed[i]; p.ID != tc.ID || p.Phone != tc.Phone || p.Action != tc.Action || !p.At.Equal(tc.At) ||
			p.UTMSource != tc.UTMSource {
			t.Errorf("touch %s parsed as %+v", tc.ID, p)
		}
		end := crmNow
		if d, ok := dealOf[tc.Phone]; ok && d.Stage != stageOpen {
			end = d.ClosedAt
		}
		if tc.At.Before(crmFrom) || tc.At.After(end) {
			t.Errorf("touch %s at %v, want in [%v, %v]", tc.ID, tc.At, crmFrom, end)
		}
		score[tc.Phone] += points[tc.Action]
	}
	mean := map[string]float64{}
	n := map[string]int{}
	for _, c := range clients {
		kind := "no deal"
		if d, ok := dealOf[c.Phone]; ok {
			kind = d.Stage
		}
		mean[kind] += float64(score[c.Phone])
		n[kind]++
	}
	for k := range mean {
		mean[k] /= float64(n[k])
	}
	if !(mean[stageWon] > mean[stageOpen] && mean[stageOpen] > mean[stageLost] && mean[stageOpen] > mean["no deal"]) ||
		n[stageWon] < scoring.DefaultMinSample {
		t.Errorf("mean scores %v of leads %v: want won > open > lost and no deal, and enough won to calibrate", mean, n)
	}
}

// TestRunPostsTouchesFirst checks that Run posts every touch once, with
// the API token, before any call.
func TestRunPostsTouchesFirst(t *testing.T) {
	clients := crmClients()
	touches := Touches(7, clients, Deals(7, clients, crmFrom, crmNow), crmFrom, crmNow)
	if len(touches) <= touchesPerPost {
		t.Fatalf("%d touches fit one post: the test needs several", len(touches))
	}
	tr := newTestRun(t, 50, func(o *Options) {
		o.Clients, o.Touches, o.APIToken = clients, touches, "api-s3cret"
	})
	stats := tr.run(t, t.Context())
	tr.fake.mu.Lock()
	defer tr.fake.mu.Unlock()
	for _, tc := range touches {
		if n := tr.fake.touches[tc.ID]; n != 1 {
			t.Errorf("touch %s posted %d times, want once", tc.ID, n)
		}
	}
	if len(tr.fake.touches) != len(touches) || stats.Touches != int64(len(touches)) || !tr.fake.touchesFirst {
		t.Errorf("callpulse got %d touches (first: %v), stats.Touches = %d; want %d, before the calls",
			len(tr.fake.touches), tr.fake.touchesFirst, stats.Touches, len(touches))
	}
}

func TestTouchesNeedTheAPIToken(t *testing.T) {
	_, err := Run(t.Context(), Options{URL: "http://127.0.0.1:1", Token: "t", Managers: []string{"101"},
		Lines: []string{"+74951112233"}, Touches: []Touch{{ID: "x"}}})
	if err == nil {
		t.Fatal("Run with touches and no API token: no error")
	}
}
