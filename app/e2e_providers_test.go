package app

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/ingest/mango"
	"github.com/callpulse/callpulse/internal/chtest"
)

const (
	zadarmaSecret = "1a2b3c4d5e6f7a8b9c0d"
	mangoKey      = "mango-key"
	mangoSalt     = "mango-salt"
	gravitelToken = "gravitel-token"
)

// providerConfig enables every webhook provider, with the secrets above.
func providerConfig(t *testing.T, dsn string) *config.Config {
	t.Helper()
	yml := strings.Replace(testConfig, `extensions: ["102", "112"]`, `extensions: ["102", "112", "sidorov"]`, 1)
	yml = strings.Replace(yml, "  max_body_bytes: 4096\n", `  max_body_bytes: 4096
  zadarma: {secret: "`+zadarmaSecret+`", api_key: "zkey", timezone: Europe/Moscow}
  mango: {api_key: "`+mangoKey+`", api_salt: "`+mangoSalt+`"}
  gravitel: {token: "`+gravitelToken+`"}
`, 1)
	env := map[string]string{
		config.EnvListen: "127.0.0.1:0", config.EnvClickHouseDSN: dsn, config.EnvDataDir: t.TempDir(),
		config.EnvAPIToken: apiToken, config.EnvGenericToken: genericToken,
	}
	cfg, err := config.Parse([]byte(yml), "test.yml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (d *daemon) postForm(path string, form url.Values, header http.Header) (int, string) {
	d.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// zadarmaSign is the spec's §1.3 signature: base64 of the hex HMAC-SHA1.
func zadarmaSign(msg string) string {
	m := hmac.New(sha1.New, []byte(zadarmaSecret))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

// TestEndToEndProviders: signed webhooks of each PBX, each delivered twice,
// show up in the talk-time API once. All calls are on 2026-11-20 in Moscow.
//
//	Zadarma outbound, ext 101, client 1 (A), answered, duration 95    → alice A 95
//	Mango inbound, ext 101, client 1 (A), answer 11:00:09, end +132 s → alice A 132
//	Gravitel outbound, login sidorov (boris), client 2 (B),
//	  start 12:00:00, wait 9, duration 200 → answered 12:00:09, ended 12:03:20 → boris B 191
func TestEndToEndProviders(t *testing.T) {
	dsn := chtest.NewDatabase(t)
	importFixtureClients(t, dsn)
	d := startDaemon(t, providerConfig(t, dsn))

	start := "2026-11-20 10:00:00"
	zStart := url.Values{"event": {"NOTIFY_OUT_START"}, "call_start": {start}, "pbx_call_id": {"out_e2e1"},
		"internal": {"101"}, "destination": {"79160000001"}}
	zEnd := url.Values{"event": {"NOTIFY_OUT_END"}, "call_start": {start}, "pbx_call_id": {"out_e2e1"},
		"internal": {"101"}, "destination": {"79160000001"}, "caller_id": {"74951112233"}, "duration": {"95"},
		"disposition": {"answered"}, "status_code": {"16"}, "is_recorded": {"0"}, "call_id_with_rec": {""}}
	create := time.Date(2026, 11, 20, 11, 0, 0, 0, time.FixedZone("MSK", 3*3600)).Unix()
	summary, _ := json.Marshal(map[string]any{"entry_id": "ZTJlLW1hbmdv", "call_direction": 1,
		"from": map[string]string{"number": "79160000001"}, "to": map[string]string{"extension": "101"},
		"line_number": "74951112233", "create_time": create, "forward_time": create + 4, "talk_time": create + 9,
		"end_time": create + 9 + 132, "entry_result": 1, "disconnect_reason": 1110})
	history := url.Values{"cmd": {"history"}, "crm_token": {gravitelToken}, "callid": {"grav-e2e-1"}, "type": {"out"},
		"user": {"sidorov"}, "ext": {"703"}, "phone": {"79160000002"}, "start": {"20261120T090000Z"},
		"duration": {"200"}, "wait": {"9"}, "status": {"Success"}}

	for range 2 {
		for _, f := range []url.Values{zStart, zEnd} {
			sig := zadarmaSign(f.Get("internal") + f.Get("destination") + f.Get("call_start"))
			if code, body := d.postForm("/webhooks/zadarma", f, http.Header{"Signature": {sig}}); code != http.StatusOK || body != "" {
				t.Fatalf("zadarma %s: %d %q, want 200 with an empty body", f.Get("event"), code, body)
			}
		}
		mf := url.Values{"vpbx_api_key": {mangoKey}, "sign": {mango.Sign(mangoKey, mangoSalt, string(summary))}, "json": {string(summary)}}
		if code, body := d.postForm("/webhooks/mango/events/summary", mf, nil); code != http.StatusOK {
			t.Fatalf("mango summary: %d %s", code, body)
		}
		if code, body := d.postForm("/webhooks/gravitel", history, nil); code != http.StatusOK {
			t.Fatalf("gravitel history: %d %s", code, body)
		}
	}
	// Forged requests change nothing.
	if code, _ := d.postForm("/webhooks/zadarma", zEnd, http.Header{"Signature": {zadarmaSign("forged")}}); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("forged zadarma: %d, want 401/403", code)
	}
	forged := url.Values{"vpbx_api_key": {mangoKey}, "sign": {mango.Sign(mangoKey, "wrong-salt", string(summary))}, "json": {string(summary)}}
	if code, _ := d.postForm("/webhooks/mango/events/summary", forged, nil); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("forged mango: %d, want 401/403", code)
	}
	history.Set("crm_token", "wrong")
	if code, _ := d.postForm("/webhooks/gravitel", history, nil); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("forged gravitel: %d, want 401/403", code)
	}
	// The Zadarma URL check answers the echo.
	if code, body := d.get("/webhooks/zadarma?zd_echo=abc123", ""); code != http.StatusOK || string(body) != "abc123" {
		t.Errorf("zd_echo: %d %q", code, body)
	}

	d.waitDrained()
	want := map[string]uint64{"alice:A": 95 + 132, "boris:B": 191}
	if got, _ := d.talkTime("2026-11-20", "2026-11-20"); !reflect.DeepEqual(got, want) {
		t.Errorf("talk time:\n got %v\nwant %v", got, want)
	}
}
