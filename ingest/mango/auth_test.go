package mango

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/ingest/providertest"
)

// The spec's payloads (§2.4 summary, §2.5 download request) and signs.
const (
	specSummary     = `{"entry_id":"MzI0NjQ5NjQ0MjoxMDE=","call_direction":1,"from":{"number":"79161234567"},"to":{"extension":"101","number":"sip:ivanov@example.mangosip.ru"},"line_number":"74951234567","create_time":1715671265,"forward_time":1715671270,"talk_time":1715671279,"end_time":1715671411,"entry_result":1,"disconnect_reason":1110}`
	specSummarySign = "0465870ddbd01461f91408f7092d13f39e320f049ba45cda14a1adf84bdb9a6e"
	specDownload    = `{"recording_id":"MToxMDA1NzU5MzoxMjM0NTY3ODk6MA==","action":"download"}`
	specDownloadSig = "3f6aa383b2715e6d91a6cfe8c989f3a7f7a9dfc03fdcc6e60b9f9d12b6e97d22"
)

func TestSignVectors(t *testing.T) {
	tests := []struct{ name, key, salt, payload, want string }{
		{"spec §2.1 summary", testKey, testSalt, specSummary, specSummarySign},
		{"spec §2.5 download", testKey, testSalt, specDownload, specDownloadSig},
		// Computed independently: printf '%s' 'key{"a":1}salt' | sha256sum
		{"own: small payload", "key", "salt", `{"a":1}`, "0a14249b7c9fe83386698debbe9dd7e4a3c0adca8a825e1b5b6d2ed4dfb58f00"},
		{"own: empty payload", "key", "salt", "", "85d87cc3b60adb89ca20449c6f30967309141595fd13b3bf68f26ffb97b7b2d2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(tt.key, tt.salt, tt.payload); got != tt.want {
				t.Errorf("Sign = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	const path = "/webhooks/mango/events/summary"
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		field  string
	}{
		{"missing key", path, form(fieldSign, specSummarySign, fieldJSON, specSummary), 401, ""},
		{"empty key", path, form(fieldKey, "", fieldSign, specSummarySign, fieldJSON, specSummary), 401, ""},
		{"missing sign", path, form(fieldKey, testKey, fieldJSON, specSummary), 401, ""},
		{"nothing", path, form(), 401, ""},
		{"foreign key", path, form(fieldKey, "another-vpbx", fieldSign, Sign("another-vpbx", testSalt, specSummary), fieldJSON, specSummary), 403, ""},
		{"key prefix", path, form(fieldKey, testKey[:8], fieldSign, Sign(testKey[:8], testSalt, specSummary), fieldJSON, specSummary), 403, ""},
		{"stale salt", path, form(fieldKey, testKey, fieldSign, Sign(testKey, "rotated-away-salt", specSummary), fieldJSON, specSummary), 403, ""},
		{"sign of other payload", path, form(fieldKey, testKey, fieldSign, specDownloadSig, fieldJSON, specSummary), 403, ""},
		{"re-serialized json", path, form(fieldKey, testKey, fieldSign, specSummarySign, fieldJSON, strings.Replace(specSummary, ",", ", ", 1)), 403, ""},
		{"truncated sign", path, form(fieldKey, testKey, fieldSign, specSummarySign[:32], fieldJSON, specSummary), 403, ""},
		{"non-hex sign", path, form(fieldKey, testKey, fieldSign, strings.Repeat("zz", 32), fieldJSON, specSummary), 403, ""},
		{"unknown path unsigned", "/webhooks/mango/events/dtmf", form(fieldJSON, `{}`), 401, ""},
		{"ping with a bad sign", "/webhooks/mango/ping", form(fieldKey, testKey, fieldSign, specSummarySign, fieldJSON, `{}`), 403, ""},
		{"signed without json", path, form(fieldKey, testKey, fieldSign, Sign(testKey, testSalt, "")), 400, "json"},
		{"json twice", path, form(fieldKey, testKey, fieldSign, specSummarySign, fieldJSON, specSummary, fieldJSON, "{}"), 400, "json"},
		{"key twice", path, form(fieldKey, testKey, fieldKey, "x", fieldSign, specSummarySign, fieldJSON, specSummary), 400, "vpbx_api_key"},
		{"json and data", path, form(fieldKey, testKey, fieldSign, specSummarySign, fieldJSON, specSummary, fieldData, "{}"), 400, "data"},
	}
	p := newProvider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := parseReq(t, p, formRequest(tt.path, tt.form))
			assertError(t, err, tt.status, tt.field)
			if len(events) != 0 {
				t.Errorf("refused request returned %d events", len(events))
			}
		})
	}
}

func TestAcceptedForms(t *testing.T) {
	p := newProvider(t)
	tests := []struct {
		name  string
		req   providertest.Request
		count int
	}{
		{"uppercase sign", formRequest("/webhooks/mango/events/summary", url.Values{
			fieldKey: {testKey}, fieldSign: {strings.ToUpper(specSummarySign)}, fieldJSON: {specSummary}}), 1},
		{"data instead of json", formRequest("/webhooks/mango/events/summary", url.Values{
			fieldKey: {testKey}, fieldSign: {specSummarySign}, fieldData: {specSummary}}), 1},
		{"no content type", providertest.Request{Path: "/webhooks/mango/events/summary",
			Body: signed("", specSummary).Body}, 1},
		{"trailing slash and case", signed("/webhooks/mango/Events/Summary/", specSummary), 1},
		{"unknown event path, signed", signed("/webhooks/mango/events/recognized/offline", `{"entry_id":"x"}`), 0},
		{"dtmf, signed", signed("/webhooks/mango/events/dtmf", `{"entry_id":"x","call_id":"y","dtmf":"1"}`), 0},
		{"base path, signed", signed("/webhooks/mango", `{}`), 0},
		{"ping, signed", signed("/webhooks/mango/ping", `{}`), 0},
		{"ping, empty body", providertest.Request{Path: "/webhooks/mango/ping"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsed, err := p.Parse(tt.req.HTTP(), tt.req.Body, received)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(parsed.Events) != tt.count {
				t.Errorf("%d events, want %d", len(parsed.Events), tt.count)
			}
			if parsed.Reply == nil {
				t.Fatal("no Reply")
			}
		})
	}
}

func TestBodyRejects(t *testing.T) {
	p := newProvider(t)
	ok := signed("/webhooks/mango/events/summary", specSummary)
	tests := []struct {
		name   string
		req    providertest.Request
		status int
	}{
		{"json content type", providertest.Request{Path: ok.Path, Body: ok.Body,
			Header: http.Header{"Content-Type": {"application/json"}}}, http.StatusUnsupportedMediaType},
		{"malformed form", providertest.Request{Path: ok.Path, Body: []byte("vpbx_api_key=%zz&sign=1"),
			Header: ok.Header}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseReq(t, p, tt.req)
			assertError(t, err, tt.status, "")
		})
	}
}

func TestReplyIsEmpty200(t *testing.T) {
	r := signed(fixture(t, "summary.in_answered"))
	parsed, err := newProvider(t).Parse(r.HTTP(), r.Body, received)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	parsed.Reply(w)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("reply %d %q, want 200 with an empty body", w.Code, w.Body.String())
	}
}

func TestEventPath(t *testing.T) {
	tests := map[string]string{
		"/webhooks/mango":                      "/",
		"/webhooks/mango/":                     "/",
		"/webhooks/mango/events/call":          "/events/call",
		"/webhooks/mango/events/call/":         "/events/call",
		"/webhooks/mango/Events/Record/Added":  "/events/record/added",
		"/webhooks/mango//events/summary":      "/events/summary",
		"/webhooks/mango/events/../events/sms": "/events/sms",
		"/events/call":                         "/events/call",
	}
	for in, want := range tests {
		if got := eventPath(in); got != want {
			t.Errorf("eventPath(%q) = %q, want %q", in, got, want)
		}
	}
}
