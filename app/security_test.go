package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
	"github.com/callpulse/callpulse/ingest/mango"
	"github.com/callpulse/callpulse/internal/chtest"
)

// logCapture keeps what the daemon logs: everything (debug and up) and,
// separately, what an operator sees at the default level (info and up).
type logCapture struct {
	mu         sync.Mutex
	all, infos bytes.Buffer
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (c *logCapture) logger(t *testing.T) *slog.Logger {
	debug := &slog.HandlerOptions{Level: slog.LevelDebug}
	return slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(testWriter{t}, debug),
		slog.NewTextHandler(lockedWriter{&c.mu, &c.all}, debug),
		slog.NewTextHandler(lockedWriter{&c.mu, &c.infos}, &slog.HandlerOptions{Level: slog.LevelInfo}),
	))
}

func (c *logCapture) text() (all, infos string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.all.String(), c.infos.String()
}

// startDaemonWith is startDaemon with a logger of the test's choosing.
func startDaemonWith(t *testing.T, cfg *config.Config, log *slog.Logger) *daemon {
	t.Helper()
	a, err := Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	d := &daemon{t: t, app: a, base: "http://" + a.Addr(), cfg: cfg}
	t.Cleanup(func() { d.stop() })
	return d
}

// phoneLeaks lists the lines of text that show one of phones (E.164) in
// any spelling: +7…, 8…, 7… or the bare national number, with or without
// spaces, dashes and brackets.
func phoneLeaks(text string, phones []string) []string {
	unformat := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", "\u00a0", "")
	var out []string
	for line := range strings.Lines(text) {
		flat := unformat.Replace(line)
		for _, p := range phones {
			if national := p[len(p)-10:]; strings.Contains(flat, national) {
				out = append(out, fmt.Sprintf("%s in: %s", p, strings.TrimSpace(line)))
			}
		}
	}
	return out
}

// nameLeaks lists the lines of text that show one of names.
func nameLeaks(text string, names []string) []string {
	var out []string
	for line := range strings.Lines(text) {
		for _, n := range names {
			if strings.Contains(line, n) {
				out = append(out, fmt.Sprintf("%q in: %s", n, strings.TrimSpace(line)))
			}
		}
	}
	return out
}

func TestLeakScannersFindLeaks(t *testing.T) {
	phones := []string{"+79160000001"}
	for _, s := range []string{
		`msg=x client=+79160000001`, `client=79160000001`, `phone="8 (916) 000-00-01"`,
		`callpulse_x{client="916-000-00-01"} 1`, `url=http://h/rec/9160000001.mp3`,
	} {
		if len(phoneLeaks(s, phones)) != 1 {
			t.Errorf("phone in %q not found", s)
		}
	}
	if got := phoneLeaks("level=INFO msg=ok calls=12 at=2026-11-20T09:15:00+03:00", phones); len(got) != 0 {
		t.Errorf("false positive: %v", got)
	}
	if len(nameLeaks(`msg=x name="Клиент А"`, []string{"Клиент А"})) != 1 {
		t.Error("name not found")
	}
}

// TestNoPhonesOrNamesInMetricsOrLogs runs calls with known clients through
// every way in — each PBX webhook, a refused webhook, the contact lookup,
// Asterisk, recording downloads from URLs with the number in them, amoCRM
// pushes — then scrapes /metrics and reads every log line at info and
// above: no client's phone number in any spelling, no client, caller or
// manager name.
func TestNoPhonesOrNamesInMetricsOrLogs(t *testing.T) {
	dsn := chtest.NewDatabase(t)
	importFixtureClients(t, dsn)
	phones := []string{"+79160000001", "+79160000002", "+79160000003", "+79160000004", "+79169999999",
		"+79161234567" /* the Asterisk fixture's caller */}
	names := []string{"Клиент А", "Клиент Б", "Клиент В", "Клиент без оценки", "Алиса", "Борис", "Ivanov"}

	recs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		_, _ = w.Write(append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), make([]byte, 512)...))
	}))
	t.Cleanup(recs.Close)
	emu := amocrmtest.New(amocrmtest.Options{Token: "amo-token"})
	t.Cleanup(emu.Close)
	emu.KnowPhone("+79160000001")
	ari := fakeARI(t, "callpulse", "ari-secret", "callpulse", "../ingest/asterisk/testdata/inbound_answered.jsonl")

	cfg := providerConfig(t, dsn)
	cfg.Webhooks.Generic.RecordingHosts = []string{"127.0.0.1"}
	cfg.Recordings.AllowPrivate = []string{"generic"}
	cfg.Recordings.Delay = 10 * time.Millisecond
	cfg.Asterisk.URL, cfg.Asterisk.App, cfg.Asterisk.User, cfg.Asterisk.Password = ari.URL, "callpulse", "callpulse", "ari-secret"
	cfg.CRM.AmoCRM.BaseURL, cfg.CRM.AmoCRM.Token, cfg.CRM.AmoCRM.CreateLeads = emu.URL, "amo-token", true
	cfg.CRM.AmoCRM.Pull.Interval = 0
	cfg.CRM.Settle = 10 * time.Millisecond
	logs := &logCapture{}
	d := startDaemonWith(t, cfg, logs.logger(t))

	// Calls of the last minutes, so that the gauges of today carry them
	// (or, right after midnight, at least refresh over them).
	msk := cfg.Location()
	now := time.Now().In(msk).Truncate(time.Second)
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	recURL := recs.URL + "/rec/79160000001.mp3"
	generic := []string{
		`{"call_id":"leak-1","direction":"inbound","started_at":"` + at(-3*time.Minute) + `","answered_at":"` + at(-170*time.Second) +
			`","ended_at":"` + at(-time.Minute) + `","client_phone":"+79160000001","line_phone":"+74951112233","manager":"101",` +
			`"status":"answered","recording_url":"` + recURL + `"}`,
		snapshot("leak-2", "inbound", "8 (916) 000-00-02", "102", "missed", at(-2*time.Minute), "", at(-110*time.Second)),
		snapshot("leak-3", "inbound", "+7 916 999-99-99", "102", "answered", at(-2*time.Minute), at(-115*time.Second), at(-time.Minute)),
	}
	for _, body := range generic {
		if code, resp := d.post(body, genericToken); code != http.StatusOK {
			t.Fatalf("generic: %d %s", code, resp)
		}
	}
	// Refused: the reason goes back to the sender and into the log.
	for _, body := range []string{
		strings.Replace(generic[0], `"+79160000001"`, `"+791600000019"`, 1),
		strings.Replace(generic[0], `"inbound"`, `"+79160000001"`, 1),
	} {
		if code, resp := d.post(body, genericToken); code != http.StatusBadRequest {
			t.Fatalf("bad generic: %d %s, want 400", code, resp)
		} else if leaks := phoneLeaks(resp, phones); len(leaks) > 0 {
			t.Errorf("refusal echoes the number: %v", leaks)
		}
	}

	zStart := now.Add(-3 * time.Minute).Format("2006-01-02 15:04:05")
	zadarma := []url.Values{
		{"event": {"NOTIFY_START"}, "call_start": {zStart}, "pbx_call_id": {"in_leak"}, "caller_id": {"79160000003"}, "called_did": {"74951112233"}},
		{"event": {"NOTIFY_ANSWER"}, "call_start": {zStart}, "pbx_call_id": {"in_leak"}, "caller_id": {"79160000003"}, "destination": {"101"}},
		{"event": {"NOTIFY_END"}, "call_start": {zStart}, "pbx_call_id": {"in_leak"}, "caller_id": {"79160000003"}, "called_did": {"74951112233"},
			"internal": {"101"}, "duration": {"120"}, "disposition": {"answered"}, "status_code": {"16"}, "is_recorded": {"0"}},
	}
	for _, f := range zadarma {
		second := "called_did"
		if f.Get("event") == "NOTIFY_ANSWER" {
			second = "destination"
		}
		sig := zadarmaSign(f.Get("caller_id") + f.Get(second) + f.Get("call_start"))
		if code, body := d.postForm("/webhooks/zadarma", f, http.Header{"Signature": {sig}}); code != http.StatusOK {
			t.Fatalf("zadarma %s: %d %s", f.Get("event"), code, body)
		}
	}

	create := now.Add(-3 * time.Minute).Unix()
	summary, _ := json.Marshal(map[string]any{"entry_id": "bGVhaw==", "call_direction": 1,
		"from": map[string]string{"number": "79160000004"}, "to": map[string]string{"extension": "102"},
		"line_number": "74951112233", "create_time": create, "forward_time": create + 4, "talk_time": create + 9,
		"end_time": create + 100, "entry_result": 1, "disconnect_reason": 1110})
	mf := url.Values{"vpbx_api_key": {mangoKey}, "sign": {mango.Sign(mangoKey, mangoSalt, string(summary))}, "json": {string(summary)}}
	if code, body := d.postForm("/webhooks/mango/events/summary", mf, nil); code != http.StatusOK {
		t.Fatalf("mango: %d %s", code, body)
	}

	contact := url.Values{"cmd": {"contact"}, "crm_token": {gravitelToken}, "callid": {"grav-leak"}, "phone": {"79160000001"}}
	if code, body := d.postForm("/webhooks/gravitel", contact, nil); code != http.StatusOK || !strings.Contains(body, "Клиент А") {
		t.Fatalf("gravitel contact: %d %s, want the client's name for the PBX", code, body)
	}
	history := url.Values{"cmd": {"history"}, "crm_token": {gravitelToken}, "callid": {"grav-leak"}, "type": {"in"},
		"user": {"sidorov"}, "phone": {"79160000002"}, "diversion": {"74951112233"},
		"start": {now.Add(-3 * time.Minute).UTC().Format("20060102T150405Z")}, "duration": {"60"}, "wait": {"5"}, "status": {"Success"}}
	if code, body := d.postForm("/webhooks/gravitel", history, nil); code != http.StatusOK {
		t.Fatalf("gravitel history: %d %s", code, body)
	}

	// Everything has been written, fetched, pushed and counted.
	waitFor(t, "the recording of leak-1", func() bool {
		code, _ := d.get("/api/v1/recordings/generic/leak-1", apiToken)
		return code == http.StatusOK
	})
	waitFor(t, "the amoCRM pushes", func() bool { return len(emu.Calls()) >= 3 })
	d.waitDrained()
	after := float64(time.Now().Add(time.Second).Unix()) // the gauge has whole seconds
	waitFor(t, "a gauge refresh after the writes", func() bool {
		return metricValue(t, d, "callpulse_analytics_last_refresh_timestamp_seconds") > after
	})
	_, metrics := d.get("/metrics", "")
	d.stop() // shutdown logs too

	_, infos := logs.text()
	if !strings.Contains(infos, "level=INFO") || !strings.Contains(infos, "level=WARN msg=\"rejected webhook\"") {
		t.Fatalf("the info log misses what the test provoked:\n%s", infos)
	}
	for _, leak := range append(phoneLeaks(string(metrics), phones), nameLeaks(string(metrics), names)...) {
		t.Errorf("/metrics: %s", leak)
	}
	for _, leak := range append(phoneLeaks(infos, phones), nameLeaks(infos, names)...) {
		t.Errorf("info log: %s", leak)
	}
}

// TestSecretsNeverLogged configures every secret callpulse has, drives the
// paths that use them — right and wrong credentials on every webhook and
// on the API, credentials a PBX, amoCRM and ClickHouse refuse, recording
// API calls — and checks that no log line, at debug level, and no metric
// shows any of them.
func TestSecretsNeverLogged(t *testing.T) {
	// Every secret, by the environment variable that sets it.
	secrets := map[string]string{
		config.EnvAPIToken:         "sEcr3t-api-7d1f",
		config.EnvGenericToken:     "sEcr3t-generic-42aa",
		config.EnvZadarmaSecret:    "sEcr3t-zadarma-90bc",
		config.EnvZadarmaAPIKey:    "sEcr3t-zkey-11e0",
		config.EnvMangoAPIKey:      "sEcr3t-mkey-5c3d",
		config.EnvMangoAPISalt:     "sEcr3t-msalt-77f2",
		config.EnvGravitelToken:    "sEcr3t-gravitel-0a9e",
		config.EnvAsteriskPassword: "sEcr3t-ari-3b4c",
		config.EnvAmoCRMToken:      "sEcr3t-amo-d00d",
		config.EnvSMTPPassword:     "sEcr3t-smtp-beef",

		config.EnvBitrix24ClientSecret: "sEcr3t-b24app-5eed",
		config.EnvRecordingLinkKey:     "sEcr3t-linkkey-0123456789",
		config.EnvMetricsToken:         "sEcr3t-metrics-c0ffee",
	}
	// The Bitrix24 portal says the access token expired; its OAuth server
	// then refuses the application: the client secret and both tokens go
	// over the wire and must show nowhere.
	const b24Access, b24Refresh = "sEcr3t-b24access-a11", "sEcr3t-b24refresh-b22"
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		if strings.HasPrefix(r.URL.Path, "/oauth/") {
			_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"Invalid client"}`)
			return
		}
		_, _ = io.WriteString(w, `{"error":"expired_token","error_description":"The access token provided has expired."}`)
	}))
	t.Cleanup(portal.Close)
	b24Tokens := filepath.Join(t.TempDir(), "bitrix24-tokens.json")
	if err := os.WriteFile(b24Tokens, []byte(`{"access_token":"`+b24Access+`","refresh_token":"`+b24Refresh+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const chPassword = "sEcr3t-ch-c0de" // in the DSN of the second run
	dsn := chtest.NewDatabase(t)
	// Refuses every request: the recording APIs and amoCRM answer 401.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"status":401,"title":"Unauthorized"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(refuse.Close)
	ari := fakeARI(t, "callpulse", "not-the-configured-password", "callpulse", "../ingest/asterisk/testdata/inbound_answered.jsonl")

	yml := testConfig + `
asterisk: {url: "` + ari.URL + `", user: callpulse}
recordings: {delay: 10ms, allow_private: [zadarma, mango]}
crm:
  settle: 10ms
  amocrm: {base_url: "` + refuse.URL + `", pull: {interval: 0s}}
  bitrix24: {endpoint: "` + portal.URL + `/rest/", client_id: local.test, oauth_url: "` + portal.URL + `/oauth/token/",
    tokens_file: "` + b24Tokens + `", default_user_id: "1", pull: {interval: 0s}}
report:
  from: callpulse@example.test
  smtp: {host: 127.0.0.1, port: 1, tls: none, user: reports}
  recipients: [{email: director@example.test, scope: team}]
`
	yml = strings.Replace(yml, "  max_body_bytes: 4096\n", `  max_body_bytes: 4096
  zadarma: {api_url: "`+refuse.URL+`", timezone: Europe/Moscow, recording_hosts: [127.0.0.1]}
  mango: {api_url: "`+refuse.URL+`", recording_hosts: [127.0.0.1]}
`, 1)
	parse := func(dsn string) *config.Config {
		e := map[string]string{config.EnvListen: "127.0.0.1:0", config.EnvDataDir: t.TempDir(), config.EnvClickHouseDSN: dsn}
		maps.Copy(e, secrets)
		cfg, err := config.Parse([]byte(yml), "test.yml", func(k string) (string, bool) { v, ok := e[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	logs := &logCapture{}
	d := startDaemonWith(t, parse(dsn), logs.logger(t))

	// The API and every webhook, with the right and with wrong credentials.
	d.get("/api/v1/talk-time", secrets[config.EnvAPIToken])
	d.get("/api/v1/talk-time", secrets[config.EnvGenericToken])
	d.get("/api/v1/live?access_token="+secrets[config.EnvGenericToken], "")
	d.post(fixtureCalls[0], secrets[config.EnvGenericToken])
	d.post(fixtureCalls[0], secrets[config.EnvAPIToken])
	start := time.Now().In(d.cfg.Location()).Add(-time.Minute).Format("2006-01-02 15:04:05")
	record := url.Values{"event": {"NOTIFY_RECORD"}, "pbx_call_id": {"in_secret"}, "call_id_with_rec": {"1715671265.1"}}
	end := url.Values{"event": {"NOTIFY_END"}, "call_start": {start}, "pbx_call_id": {"in_secret"}, "caller_id": {"79160000001"},
		"called_did": {"74951112233"}, "duration": {"30"}, "disposition": {"answered"}, "is_recorded": {"0"}}
	zsign := func(msg string) string { return zadarmaSignWith(secrets[config.EnvZadarmaSecret], msg) }
	d.postForm("/webhooks/zadarma", end, http.Header{"Signature": {zsign("79160000001" + "74951112233" + start)}})
	d.postForm("/webhooks/zadarma", record, http.Header{"Signature": {zsign("in_secret1715671265.1")}})
	d.postForm("/webhooks/zadarma", record, http.Header{"Signature": {secrets[config.EnvZadarmaSecret]}})
	added, _ := json.Marshal(map[string]any{"entry_id": "c2VjcmV0", "product_id": 1, "user_id": 1,
		"recording_id": "cmVjLXNlY3JldA==", "timestamp": time.Now().Unix()})
	mkey, msalt := secrets[config.EnvMangoAPIKey], secrets[config.EnvMangoAPISalt]
	d.postForm("/webhooks/mango/events/record/added", url.Values{"vpbx_api_key": {mkey}, "sign": {mango.Sign(mkey, msalt, string(added))}, "json": {string(added)}}, nil)
	d.postForm("/webhooks/mango/events/record/added", url.Values{"vpbx_api_key": {mkey}, "sign": {msalt}, "json": {string(added)}}, nil)
	history := url.Values{"cmd": {"history"}, "crm_token": {secrets[config.EnvGravitelToken]}, "callid": {"grav-secret"}, "type": {"in"},
		"phone": {"79160000002"}, "start": {time.Now().UTC().Format("20060102T150405Z")}, "duration": {"10"}, "status": {"missed"}}
	d.postForm("/webhooks/gravitel", history, nil)
	history.Set("crm_token", secrets[config.EnvGenericToken])
	d.postForm("/webhooks/gravitel", history, nil)

	// The refusals have happened and been logged.
	waitFor(t, "ARI to refuse the password", func() bool { all, _ := logs.text(); return strings.Contains(all, "ARI refused the credentials") })
	waitFor(t, "both recording APIs to refuse", func() bool {
		all, _ := logs.text()
		return strings.Count(all, `msg="recording fetch`) >= 2
	})
	waitFor(t, "amoCRM to refuse the token", func() bool { all, _ := logs.text(); return strings.Contains(all, `msg="CRM request`) })
	waitFor(t, "Bitrix24 to refuse the application", func() bool {
		all, _ := logs.text()
		return strings.Contains(all, "crm=bitrix24") && strings.Contains(all, "invalid_client")
	})
	d.get("/metrics", secrets[config.EnvAPIToken]) // refused: not the metrics token
	code, metrics := d.get("/metrics", secrets[config.EnvMetricsToken])
	if code != http.StatusOK {
		t.Fatalf("/metrics with the metrics token: %d", code)
	}
	d.stop()

	// ClickHouse refusing the DSN's password.
	chDSN := strings.Replace(dsn, "clickhouse://", "clickhouse://default:"+chPassword+"@", 1)
	d = startDaemonWith(t, parse(chDSN), logs.logger(t))
	waitFor(t, "ClickHouse to refuse the password", func() bool {
		all, _ := logs.text()
		return strings.Contains(all, "clickhouse not ready")
	})
	d.stop()

	all, _ := logs.text()
	secrets["the ClickHouse password"] = chPassword
	secrets["the Bitrix24 access token"], secrets["the Bitrix24 refresh token"] = b24Access, b24Refresh
	for name, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("the log shows %s:\n%s", name, grepLines(all, s))
		}
		if strings.Contains(string(metrics), s) {
			t.Errorf("/metrics shows %s", name)
		}
	}
}

// zadarmaSignWith is zadarmaSign with another secret.
func zadarmaSignWith(secret, msg string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

func grepLines(text, sub string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.Contains(line, sub) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// waitFor polls cond until it holds or a minute has passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // the daemon works asynchronously
	}
}

var sampleLine = regexp.MustCompile(`(?m)^([a-z_]+)(\{[^}]*\})? (\S+)$`)

// metricValue sums the samples of one metric family on /metrics.
func metricValue(t *testing.T, d *daemon, name string) float64 {
	t.Helper()
	code, body := d.get("/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	var sum float64
	for _, m := range sampleLine.FindAllStringSubmatch(string(body), -1) {
		if m[1] == name {
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatalf("%s: %v", m[0], err)
			}
			sum += v
		}
	}
	return sum
}

// TestEveryAPIRouteRequiresTheToken tries every operation of
// docs/openapi.yaml with missing and wrong credentials.
func TestEveryAPIRouteRequiresTheToken(t *testing.T) {
	b, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, newConfig(t, chtest.NewDatabase(t), t.TempDir()))
	fill := strings.NewReplacer("{provider}", "generic", "{call_id}", "c1")
	wrong := []struct {
		name  string
		set   func(*http.Request)
		query string
	}{
		{"no credentials", func(*http.Request) {}, ""},
		{"wrong token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") }, ""},
		{"the webhook token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+genericToken) }, ""},
		{"token with a suffix", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+apiToken+"x") }, ""},
		{"token prefix", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+apiToken[:len(apiToken)-1]) }, ""},
		{"basic auth", func(r *http.Request) { r.SetBasicAuth("api", apiToken) }, ""},
		{"wrong access_token", func(*http.Request) {}, "access_token=wrong"},
		{"wrong bearer beats a right access_token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") }, "access_token=" + apiToken},
	}
	// The token in the URL is for browsers' WebSockets only (the live feed):
	// on any other route it would end up in proxy logs and browser history.
	inURL := append(wrong[:len(wrong):len(wrong)], struct {
		name  string
		set   func(*http.Request)
		query string
	}{"the right token as access_token", func(*http.Request) {}, "access_token=" + apiToken})
	ops := 0
	for path, methods := range doc.Paths {
		for method := range methods {
			method = strings.ToUpper(method)
			if method != http.MethodGet && method != http.MethodPost {
				continue
			}
			ops++
			cases := inURL
			if path == "/api/v1/live" {
				cases = wrong
			}
			for _, w := range cases {
				u := d.base + fill.Replace(path)
				if w.query != "" {
					u += "?" + w.query
				}
				req, _ := http.NewRequest(method, u, strings.NewReader(`[]`))
				req.Header.Set("Content-Type", "application/json")
				w.set(req)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s with %s: %d, want 401 with WWW-Authenticate", method, path, w.name, resp.StatusCode)
				}
			}
		}
	}
	if ops < 10 {
		t.Fatalf("only %d operations in docs/openapi.yaml", ops)
	}
	d.waitDrained() // migrated
	if code, body := d.get("/api/v1/talk-time", apiToken); code != http.StatusOK {
		t.Errorf("with the token: %d %s", code, body)
	}
}
