package report

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/client"
)

// fakeStore answers talk time and the funnel from fixed rows.
type fakeStore struct {
	talk     []analytics.TalkRow
	sources  []analytics.SourceRow
	refusals []analytics.RefusalRow
}

func (f fakeStore) TalkTime(_ context.Context, _ analytics.Period, ext []string) ([]analytics.TalkRow, error) {
	var out []analytics.TalkRow
	for _, r := range f.talk {
		if len(ext) == 0 || r.Extension == ext[0] {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f fakeStore) Sources(context.Context, analytics.Period) ([]analytics.SourceRow, error) {
	return f.sources, nil
}

func (f fakeStore) Refusals(context.Context, analytics.Period) ([]analytics.RefusalRow, error) {
	return f.refusals, nil
}

var sampleStore = fakeStore{
	talk: []analytics.TalkRow{
		{Day: fixtureDay, Extension: "101", Category: client.CategoryA, Seconds: 600, Calls: 1},
		{Day: fixtureDay, Extension: "101", Category: client.CategoryB, Seconds: 300, Calls: 1},
		{Day: fixtureDay, Extension: "102", Category: client.CategoryC, Seconds: 400, Calls: 1},
		{Day: fixtureDay, Extension: "102", Category: client.CategoryA, Seconds: 100, Calls: 1},
	},
	sources:  []analytics.SourceRow{{Source: "vk_ads", Leads: 3, Reached: 2, Qualified: 1, Won: 1, Revenue: 4500050}},
	refusals: []analytics.RefusalRow{{Reason: "дорого", Source: "vk_ads", Manager: "101", Deals: 2}},
}

func sampleBuilder(t *testing.T, o BuildOptions) *Builder {
	t.Helper()
	o.Talk, o.Funnel, o.Team, o.Targets, o.Location = sampleStore, sampleStore, testTeam(), testTargets, moscow
	o.Now = func() time.Time { return time.Date(2026, 11, 16, 7, 0, 0, 0, moscow) }
	b, err := NewBuilder(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustBuild(t *testing.T) *Report {
	t.Helper()
	r, err := sampleBuilder(t, BuildOptions{}).Build(context.Background(), fixtureDay, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTalkOrderFurthestFromTargetFirst(t *testing.T) {
	r := mustBuild(t)
	var order []string
	for _, l := range r.Daily.Talk {
		order = append(order, l.Manager)
	}
	// bob: A 20 %, C 80 % (distance 0.79); alice: A 66.7 %, B 33.3 %
	// (0.143); carol: no calls, last.
	if strings.Join(order, ",") != "bob,alice,carol" {
		t.Errorf("order %v, want bob, alice, carol", order)
	}
	if d := r.Daily.Talk[0].Distance; d < 0.789 || d > 0.791 {
		t.Errorf("bob's distance %v, want 0.79", d)
	}
}

// TestOmittedSections: without missed-call and queue sources the report
// says so instead of showing those sections.
func TestOmittedSections(t *testing.T) {
	for _, lang := range []string{Russian, English} {
		out, err := Render(mustBuild(t), lang)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			Russian: {"Раздел «Пропущенные звонки без перезвона» не включён", "Раздел «Очередь обзвона: лучшие лиды» не включён"},
			English: {"Section “Missed calls not called back” left out", "Section “Call queue: top leads” left out"},
		}[lang]
		for _, w := range want {
			if !strings.Contains(out.Text, w) || !strings.Contains(out.HTML, w) {
				t.Errorf("%s: no note %q", lang, w)
			}
		}
		if strings.Contains(out.HTML, "speed-") {
			t.Errorf("%s: a speed chart without a source", lang)
		}
	}
}

func TestEnglishSubjectAndNumbers(t *testing.T) {
	out, err := Render(mustBuild(t), English)
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != "callpulse: daily report for 2026-11-15" {
		t.Errorf("subject %q", out.Subject)
	}
	for _, want := range []string{"66.7%", "45,000.50", "Whole team", "Ad-source funnel"} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, out.Text)
		}
	}
}

func TestFormat(t *testing.T) {
	en := newFormat(English, moscow)
	tests := []struct{ got, want string }{
		{ru.Int(1234567), "1\u00a0234\u00a0567"},
		{en.Int(1234567), "1,234,567"},
		{ru.Pct(0.805), "80,5\u00a0%"},
		{en.Pct(0.805), "80.5%"},
		{ru.Money(4500050), "45\u00a0000,50"},
		{en.Money(-100), "−1"},
		{ru.Dur(3*time.Hour + 5*time.Minute), "3\u00a0ч 05\u00a0мин"},
		{en.Dur(95 * time.Second), "1\u00a0min 35\u00a0s"},
		{en.Delta(3, 5), "−2"},
		{en.DeltaPts(0.5, 0.25), "+25.0\u00a0pp"},
		{ru.Period(analytics.Period{From: fixtureDay, To: fixtureDay}), "15.11.2026"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestChartsHaveCyrillic: the embedded font draws Cyrillic (glyphs, not
// boxes), so a chart labelled in Russian differs from one labelled with
// the same number of unknown-glyph boxes.
func TestChartsHaveCyrillic(t *testing.T) {
	fs, err := faces()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range "АлисаБорисЖЩЫЁ" {
		if _, ok := fs[0].GlyphAdvance(r); !ok {
			t.Errorf("the chart font has no glyph for %q", r)
		}
	}
	out, err := Render(mustBuild(t), Russian)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range out.Images {
		if len(img.PNG) < 1000 || !strings.HasPrefix(string(img.PNG), "\x89PNG") || img.Alt == "" {
			t.Errorf("image %s: %d bytes, alt %q", img.Name, len(img.PNG), img.Alt)
		}
	}
}

// TestDryRunFiles writes a team's and a manager's report as files.
func TestDryRunFiles(t *testing.T) {
	svc, err := New(Options{Builder: sampleBuilder(t, BuildOptions{WeeklyOnMonday: true}), From: "reports@example.test",
		Recipients: []Recipient{{Email: "Boss@Example.test"}, {Email: aliceAddr, Manager: "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	results, err := svc.Run(context.Background(), fixtureDay, RunOptions{DryRunDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("results %+v", results)
	}
	want := map[string][]string{
		bossAddr: {"message.eml", "report.html", "report.txt", "talk-2026-11-15.png", "sources-2026-11-15.png",
			"week-talk-2026-11-15.png", "week-sources-2026-11-15.png", "talk-time-2026-11-15.csv", "sources-2026-11-15.csv",
			"refusals-2026-11-15.csv", "week-talk-time-2026-11-15.csv", "week-sources-2026-11-15.csv", "week-refusals-2026-11-15.csv"},
		aliceAddr: {"message.eml", "report.html", "report.txt", "talk-2026-11-15.png", "week-talk-2026-11-15.png",
			"talk-time-2026-11-15.csv", "refusals-2026-11-15.csv", "week-talk-time-2026-11-15.csv", "week-refusals-2026-11-15.csv"},
	}
	for addr, files := range want {
		entries, err := os.ReadDir(filepath.Join(dir, addr))
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Join(dir, addr)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: directory mode %v (%v), want 0700: reports name clients", addr, fi.Mode().Perm(), err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
			if fi, err := e.Info(); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s/%s: mode %v (%v), want 0600", addr, e.Name(), fi.Mode().Perm(), err)
			}
		}
		sort.Strings(got)
		sort.Strings(files)
		if strings.Join(got, " ") != strings.Join(files, " ") {
			t.Errorf("%s:\n got %v\nwant %v", addr, got, files)
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, bossAddr, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `src="talk-2026-11-15.png"`) {
		t.Error("the dry-run HTML does not refer to its images by file name")
	}
	eml, err := os.ReadFile(filepath.Join(dir, bossAddr, "message.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(string(eml)), "content-id: <talk-2026-11-15@callpulse>") {
		i := strings.Index(string(eml), "talk-2026-11-15.png")
		t.Errorf("message.eml has no Content-ID for the talk chart:\n%s", eml[max(i-300, 0):i+100])
	}
}

// hungStore answers talk time only when its context ends, like a query to
// a ClickHouse that stopped answering.
type hungStore struct{ fakeStore }

func (hungStore) TalkTime(ctx context.Context, _ analytics.Period, _ []string) ([]analytics.TalkRow, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestBuildIsBounded: a report whose queries hang fails after the
// builder's timeout instead of holding the nightly job.
func TestBuildIsBounded(t *testing.T) {
	b, err := NewBuilder(BuildOptions{Talk: hungStore{}, Funnel: sampleStore, Team: testTeam(),
		Location: moscow, Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Build(context.Background(), fixtureDay, Scope{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "report talk time") {
		t.Fatalf("Build with a hung store: %v, want the talk time query's deadline exceeded", err)
	}
}
