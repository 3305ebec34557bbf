package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	stdhtml "html"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/api"
	"github.com/callpulse/callpulse/warehouse"
)

const (
	bossAddr  = "boss@example.test"
	aliceAddr = "alice@example.test"
)

// newTestService builds a Service over the fixture database that sends to
// smtpPort (no TLS: maildev), with the fakes for missed calls and queue.
func newTestService(t *testing.T, db *warehouse.DB, smtpPort int, replica string) (*Service, *Metrics) {
	t.Helper()
	store := analytics.NewStore(db.Conn(), moscow)
	b, err := NewBuilder(BuildOptions{
		Talk: store, Funnel: store, Missed: testMissed, Queue: testQueue,
		Team: testTeam(), Targets: testTargets, Location: moscow, WeeklyOnMonday: true,
		Now: func() time.Time { return time.Date(2026, 11, 16, 7, 0, 0, 0, moscow) },
	})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := NewSender(SMTPOptions{Host: "127.0.0.1", Port: smtpPort, TLS: TLSNone, Timeout: 10 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(nil)
	svc, err := New(Options{
		Builder: b, From: "callpulse <reports@example.test>",
		Recipients: []Recipient{{Email: bossAddr}, {Email: "Alice <" + aliceAddr + ">", Manager: "alice"}},
		Sender:     sender, Ledger: db, Metrics: m, Logger: slog.New(slog.DiscardHandler),
		Claim: ClaimOptions{Replica: replica, Backoff: fastBackoff, Rounds: 20},
		Now:   func() time.Time { return time.Date(2026, 11, 16, 7, 0, 0, 0, moscow) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, m
}

// TestReportArrives sends the fixture day's report through maildev and
// checks what arrived against the API's answers for the same day, then
// screenshots the HTML part with Chromium.
func TestReportArrives(t *testing.T) {
	db := fixtureDB(t)
	mail := startMaildev(t)
	svc, m := newTestService(t, db, mail.smtpPort, "r1")
	ctx := context.Background()

	results, err := svc.Run(ctx, fixtureDay, RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, r := range results {
		if r.Result != ResultSent {
			t.Errorf("%s: %s, want sent", r.Recipient, r.Result)
		}
	}
	if got := counterValue(t, m.sent.WithLabelValues(ResultSent)); got != 2 {
		t.Errorf("sent_total{result=sent} = %v, want 2", got)
	}
	if got := gaugeValue(t, m.lastSuccess); got != float64(time.Date(2026, 11, 16, 7, 0, 0, 0, moscow).Unix()) {
		t.Errorf("last_success = %v", got)
	}

	byTo := map[string]receivedMail{}
	for _, e := range mail.emails(t) {
		if len(e.To) != 1 {
			t.Fatalf("message %s to %v, want one recipient", e.ID, e.To)
		}
		byTo[e.To[0].Address] = e
	}
	if len(byTo) != 2 {
		t.Fatalf("received %d messages (%v), want one each for %s and %s", len(byTo), byTo, bossAddr, aliceAddr)
	}
	boss, alice := byTo[bossAddr], byTo[aliceAddr]
	if want := "callpulse: итоги дня 15.11.2026 и недели 09.11.2026–15.11.2026"; boss.Subject != want {
		t.Errorf("boss subject %q, want %q", boss.Subject, want)
	}
	if want := "callpulse: ваши итоги за 15.11.2026 — Алиса"; alice.Subject != want {
		t.Errorf("alice subject %q, want %q", alice.Subject, want)
	}
	if boss.From[0].Address != "reports@example.test" {
		t.Errorf("from %v", boss.From)
	}
	checkParts(t, mail, boss, []string{"talk-2026-11-15.png", "sources-2026-11-15.png", "speed-2026-11-15.png",
		"week-talk-2026-11-15.png", "week-sources-2026-11-15.png", "week-speed-2026-11-15.png"},
		[]string{"talk-time-2026-11-15.csv", "sources-2026-11-15.csv", "speed-to-lead-2026-11-15.csv", "refusals-2026-11-15.csv",
			"week-talk-time-2026-11-15.csv", "week-sources-2026-11-15.csv", "week-speed-to-lead-2026-11-15.csv",
			"week-refusals-2026-11-15.csv", "missed-2026-11-15.csv", "queue-2026-11-15.csv"})

	// The numbers equal the API's for the same day.
	apiGet := apiClient(t, analytics.NewStore(db.Conn(), moscow))
	compareTalk(t, apiGet, "/api/v1/talk-time?from=2026-11-15", csvOf(t, mail, boss, "talk-time-2026-11-15.csv"), boss.HTML)
	compareTalk(t, apiGet, "/api/v1/talk-time?from=2026-11-09&to=2026-11-15", csvOf(t, mail, boss, "week-talk-time-2026-11-15.csv"), boss.HTML)
	compareTalk(t, apiGet, "/api/v1/talk-time?from=2026-11-15&manager=alice", csvOf(t, mail, alice, "talk-time-2026-11-15.csv"), alice.HTML)
	compareSourcesAPI(t, apiGet, "2026-11-15", "2026-11-14", csvOf(t, mail, boss, "sources-2026-11-15.csv"), boss.HTML)
	compareSourcesAPI(t, apiGet, "2026-11-09&to=2026-11-15", "2026-11-02&to=2026-11-08", csvOf(t, mail, boss, "week-sources-2026-11-15.csv"), boss.HTML)
	compareRefusals(t, apiGet, "/api/v1/refusals?from=2026-11-15", "", csvOf(t, mail, boss, "refusals-2026-11-15.csv"))
	compareRefusals(t, apiGet, "/api/v1/refusals?from=2026-11-15", "alice", csvOf(t, mail, alice, "refusals-2026-11-15.csv"))
	for _, want := range []string{"Клиент", "+79160000004", "Ирина", "42,5", "дорого", "нет бюджета"} {
		if !strings.Contains(stdhtml.UnescapeString(boss.HTML), want) || !strings.Contains(boss.Text, want) {
			t.Errorf("boss HTML or text lacks %q", want)
		}
	}
	if strings.Contains(alice.HTML, "Олег") || strings.Contains(alice.HTML, "нет бюджета") {
		t.Errorf("alice's report shows another manager's numbers")
	}

	screenshot(t, boss)

	// A re-run, a restart or a second replica sends nothing.
	results, err = svc.Run(ctx, fixtureDay, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Result != ResultSkipped || r.Reason != ErrAlreadySent.Error() {
			t.Errorf("re-run %s: %s (%s), want skipped: already sent", r.Recipient, r.Result, r.Reason)
		}
	}
	if n := len(mail.emails(t)); n != 2 {
		t.Errorf("after a re-run maildev has %d messages, want 2", n)
	}
	// --force sends again.
	if _, err := svc.Run(ctx, fixtureDay, RunOptions{To: []string{aliceAddr}, Force: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(mail.emails(t)); n != 3 {
		t.Errorf("after a forced run maildev has %d messages, want 3", n)
	}
}

// checkParts checks the inline images (with Content-ID, referenced from
// the HTML, alt text) and the CSV attachments.
func checkParts(t *testing.T, mail *maildev, e receivedMail, images, csvs []string) {
	t.Helper()
	got := map[string]bool{}
	source := mail.get(t, "/api/email/"+e.ID+"/source")
	html := htmlPart(t, source)
	for _, a := range e.Attachments {
		got[a.FileName] = true
		switch a.ContentType {
		case "image/png":
			if a.ContentID == "" || !strings.Contains(html, `src="cid:`+a.ContentID+`"`) {
				t.Errorf("image %s (cid %q) is not referenced by the HTML", a.FileName, a.ContentID)
			}
		case "text/csv":
		default:
			t.Errorf("attachment %s has type %s", a.FileName, a.ContentType)
		}
	}
	for _, name := range append(images, csvs...) {
		if !got[name] {
			t.Errorf("message lacks %s (has %v)", name, got)
		}
	}
	if len(e.Attachments) != len(images)+len(csvs) {
		t.Errorf("message has %d attachments, want %d", len(e.Attachments), len(images)+len(csvs))
	}
	if n := strings.Count(html, `alt="`); n < len(images) {
		t.Errorf("HTML has %d alt texts for %d images", n, len(images))
	}
	if !strings.Contains(e.Text, "Время разговоров по категориям клиентов") {
		t.Errorf("no plain-text part:\n%s", e.Text)
	}
	for _, want := range []string{"multipart/mixed", "multipart/related", "multipart/alternative", "text/plain", "text/html",
		"Content-Disposition: inline", "Auto-Submitted: auto-generated"} {
		if !bytes.Contains(source, []byte(want)) {
			t.Errorf("message source lacks %q", want)
		}
	}
}

// csvOf downloads a CSV attachment and parses it (BOM stripped).
func csvOf(t *testing.T, mail *maildev, e receivedMail, name string) []map[string]string {
	t.Helper()
	for _, a := range e.Attachments {
		if a.FileName != name {
			continue
		}
		b := mail.get(t, "/api/email/"+e.ID+"/attachment/"+a.GeneratedFileName)
		if !bytes.HasPrefix(b, []byte(csvBOM)) {
			t.Errorf("%s has no UTF-8 BOM", name)
		}
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte(csvBOM)))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out []map[string]string
		for _, r := range rows[1:] {
			m := map[string]string{}
			for i, h := range rows[0] {
				m[h] = r[i]
			}
			out = append(out, m)
		}
		return out
	}
	t.Fatalf("no attachment %s", name)
	return nil
}

// apiClient serves the read API over store and returns a GET for it.
func apiClient(t *testing.T, store *analytics.Store) func(path string, v any) {
	srv := api.NewServer("tok", store, testTeam(), testTargets, 30*time.Second, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	srv.Register(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
}

// screenshot renders the received HTML part with headless Chromium, keeps the PNG as a CI artifact and checks the key
// numbers are in the DOM.
func screenshot(t *testing.T, e receivedMail) {
	t.Helper()
	dir := t.TempDir()
	// maildev's html has the inline images resolved to data: URLs, as a
	// mail client shows them.
	html := e.HTML
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifactDir(t), "report-email.png")
	_ = os.Remove(shot)
	runChromium(t, "--window-size=800,3000", "--screenshot="+shot, "file://"+page)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	dom := stdhtml.UnescapeString(string(runChromium(t, "--dump-dom", "file://"+page)))
	for _, want := range []string{"Итоги дня 15.11.2026", "Алиса", "Борис", "Вся команда", "45\u00a0000,50"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	t.Logf("screenshot: %s", shot)
}

// htmlPart finds the text/html part of a raw message and decodes it.
func htmlPart(t *testing.T, raw []byte) string {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(h textproto.MIMEHeader, body io.Reader) string
	walk = func(h textproto.MIMEHeader, body io.Reader) string {
		mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			r := multipart.NewReader(body, params["boundary"])
			for {
				p, err := r.NextRawPart()
				if err == io.EOF {
					return ""
				}
				if err != nil {
					t.Fatal(err)
				}
				if s := walk(p.Header, p); s != "" {
					return s
				}
			}
		}
		if mt != "text/html" {
			return ""
		}
		if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		} else if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	html := walk(textproto.MIMEHeader(msg.Header), msg.Body)
	if html == "" {
		t.Fatal("the message has no text/html part")
	}
	return html
}
