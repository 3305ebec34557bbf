package zadarma

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
	"github.com/callpulse/callpulse/ingest/providertest"
	"github.com/callpulse/callpulse/phone"
)

var update = flag.Bool("update", false, "re-sign testdata/<call>/*.http with the test secret and rewrite the golden files")

// testSecret is the secret of the spec's test vectors (§1.3, §1.5, §1.6).
const (
	testSecret = "1a2b3c4d5e6f7a8b9c0d"
	testAPIKey = "test-user-key"
)

// msk is the zone the fixtures' call_start values are written in.
var msk = time.FixedZone("MSK", 3*60*60)

// received is the receive time of every fixture: 12 s after the spec
// fixture's call_start, when NOTIFY_ANSWER would arrive.
var received = time.Date(2024, 5, 14, 10, 21, 17, 0, msk)

// fixtureCalls are the directories of testdata holding one call each, as
// signed requests in delivery order.
var fixtureCalls = []string{"in_answered", "in_missed", "out_busy", "out_answered"}

func newProvider(t testing.TB, opts ...func(*Options)) *Provider {
	t.Helper()
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Secret: testSecret, APIKey: testAPIKey, Location: msk, Normalizer: norm,
		Logger: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		f(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loadRequest reads a fixture: header lines, a blank line, the body.
func loadRequest(t testing.TB, path string) providertest.Request {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(raw), "\n\n")
	if !ok {
		t.Fatalf("%s: no blank line between headers and body", path)
	}
	r := providertest.Request{Path: "/webhooks/zadarma", Header: http.Header{},
		Body: []byte(strings.TrimSuffix(body, "\n"))}
	for _, line := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			r.Header.Add(k, v)
		}
	}
	return r
}

// loadCall reads the requests of one fixture call, re-signing them first
// with -update.
func loadCall(t testing.TB, name string) []providertest.Request {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", name, "*.http"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures for %s: %v", name, err)
	}
	var reqs []providertest.Request
	for _, file := range files {
		r := loadRequest(t, file)
		if *update {
			r = resign(t, file, r)
		}
		reqs = append(reqs, r)
	}
	return reqs
}

func resign(t testing.TB, file string, r providertest.Request) providertest.Request {
	t.Helper()
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Signature", sign([]byte(testSecret), kinds[form.Get("event")].signedString(form)))
	out := "Signature: " + r.Header.Get("Signature") + "\nContent-Type: " + r.Header.Get("Content-Type") +
		"\n\n" + string(r.Body) + "\n"
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseGolden(t *testing.T) {
	for _, name := range fixtureCalls {
		t.Run(name, func(t *testing.T) {
			p := newProvider(t)
			var got []call.Event
			for i, r := range loadCall(t, name) {
				parsed, err := p.Parse(r.HTTP(), r.Body, received)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if len(parsed.Events) != 1 || parsed.Reply == nil {
					t.Fatalf("request %d: %d events, reply set %v; want 1 event and an empty reply",
						i, len(parsed.Events), parsed.Reply != nil)
				}
				got = append(got, parsed.Events...)
			}
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			var want []call.Event
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.MarshalIndent(got, "", "  ")
				t.Errorf("events differ from %s (run with -update to accept):\n%s", golden, gb)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		file   string
		status int
		field  string
	}{
		{"missing_signature.http", 401, ""},
		{"forged_signature.http", 403, ""},
		{"tampered_body.http", 403, ""},
		{"raw_digest_signature.http", 403, ""},
		{"unknown_event.http", 400, "event"},
		{"missing_event.http", 400, "event"},
		{"repeated_event.http", 400, "event"},
		{"missing_call_id.http", 400, "pbx_call_id"},
		{"control_char_call_id.http", 400, "pbx_call_id"},
		{"bad_call_start.http", 400, "call_start"},
		{"missing_call_start.http", 400, "call_start"},
		{"year_out_of_range.http", 400, "call_start"},
		{"unknown_disposition.http", 400, "disposition"},
		{"missing_disposition.http", 400, "disposition"},
		{"negative_duration.http", 400, "duration"},
		{"missing_duration.http", 400, "duration"},
		{"huge_duration.http", 400, "duration"},
		{"record_without_ref.http", 400, "call_id_with_rec"},
		{"repeated_caller_id.http", 400, "caller_id"},
		{"long_internal.http", 400, "internal"},
		{"bad_escape.http", 400, ""},
		{"json_body.http", 415, ""},
		{"bad_echo.http", 400, "zd_echo"},
	}
	p := newProvider(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := loadRequest(t, filepath.Join("testdata", "bad", tt.file))
			parsed, err := p.Parse(r.HTTP(), r.Body, received)
			var ie *ingest.Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ingest.Error", err)
			}
			if ie.Status != tt.status || ie.Field != tt.field {
				t.Errorf("got %d field %q (%s), want %d field %q", ie.Status, ie.Field, ie.Msg, tt.status, tt.field)
			}
			if len(parsed.Events) != 0 || parsed.Reply != nil {
				t.Errorf("refused request returned events or a reply: %+v", parsed)
			}
			for _, leak := range []string{"9161234567", "9160000000", testSecret} {
				if strings.Contains(ie.Error(), leak) {
					t.Errorf("error message leaks %q: %s", leak, ie.Error())
				}
			}
		})
	}
}

func TestRedeliveryKeepsKeyAndEvent(t *testing.T) {
	p := newProvider(t)
	seen := map[string]string{}
	for _, name := range fixtureCalls {
		for _, r := range loadCall(t, name) {
			a, errA := p.Parse(r.HTTP(), r.Body, received)
			b, errB := p.Parse(r.HTTP(), r.Body, received.Add(time.Hour))
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			ea, eb := a.Events[0], b.Events[0]
			if ea.EventKey != eb.EventKey {
				t.Errorf("re-delivery got a new key: %s vs %s", ea.EventKey, eb.EventKey)
			}
			// Only the receive time (and an answer time taken from it) may differ.
			eb.ReceivedAt, eb.AnsweredAt = ea.ReceivedAt, ea.AnsweredAt
			if !reflect.DeepEqual(ea, eb) {
				t.Errorf("re-delivery changed the event:\n%+v\n%+v", ea, eb)
			}
			if other, dup := seen[ea.CallID+" "+ea.EventKey]; dup && other != string(r.Body) {
				t.Errorf("two different notifications share key %s", ea.EventKey)
			}
			seen[ea.CallID+" "+ea.EventKey] = string(r.Body)
		}
	}
}

func TestEchoHandshake(t *testing.T) {
	p := newProvider(t)
	tests := []struct {
		name   string
		method string
		target string
		body   string
		code   int
		want   string
	}{
		{"GET", http.MethodGet, "/webhooks/zadarma?zd_echo=9f1c2a7e5b", "", 200, "9f1c2a7e5b"},
		{"GET without zd_echo", http.MethodGet, "/webhooks/zadarma", "", 400, ""},
		{"GET empty", http.MethodGet, "/webhooks/zadarma?zd_echo=", "", 400, ""},
		{"GET control char", http.MethodGet, "/webhooks/zadarma?zd_echo=a%0Ab", "", 400, ""},
		{"GET too long", http.MethodGet, "/webhooks/zadarma?zd_echo=" + strings.Repeat("x", maxEchoLen+1), "", 400, ""},
		{"GET twice", http.MethodGet, "/webhooks/zadarma?zd_echo=a&zd_echo=b", "", 400, ""},
		{"POST query", http.MethodPost, "/webhooks/zadarma?zd_echo=abc123", "", 200, "abc123"},
		{"POST form", http.MethodPost, "/webhooks/zadarma", "zd_echo=abc%21123", 200, "abc!123"},
		{"POST form bad", http.MethodPost, "/webhooks/zadarma", "zd_echo=%01", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			w := httptest.NewRecorder()
			if tt.method == http.MethodGet {
				p.ServeGET(w, r)
			} else {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				parsed, err := p.Parse(r, []byte(tt.body), received)
				if err != nil {
					var ie *ingest.Error
					if !errors.As(err, &ie) {
						t.Fatalf("err = %v, want *ingest.Error", err)
					}
					w.Code = ie.Status
				} else {
					if len(parsed.Events) != 0 {
						t.Errorf("echo produced events")
					}
					parsed.Reply(w)
				}
			}
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			if tt.code == 200 {
				if got := w.Body.String(); got != tt.want {
					t.Errorf("body %q, want exactly %q", got, tt.want)
				}
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q, want text/plain", ct)
				}
			}
		})
	}
}

func TestNotificationReplyIsEmpty(t *testing.T) {
	p := newProvider(t)
	r := loadCall(t, "in_answered")[0]
	parsed, err := p.Parse(r.HTTP(), r.Body, received)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	parsed.Reply(w)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("reply %d %q, want 200 with an empty body", w.Code, w.Body.String())
	}
}

func TestDispositions(t *testing.T) {
	tests := []struct {
		disposition string
		dir         call.Direction
		want        call.Status
	}{
		{"answered", call.DirectionInbound, call.StatusAnswered},
		{"answered", call.DirectionOutbound, call.StatusAnswered},
		{"busy", call.DirectionInbound, call.StatusBusy},
		{"busy", call.DirectionOutbound, call.StatusBusy},
		{"no answer", call.DirectionInbound, call.StatusMissed},
		{"cancel", call.DirectionInbound, call.StatusMissed},
		{"no answer", call.DirectionOutbound, call.StatusCancelled},
		{"cancel", call.DirectionOutbound, call.StatusCancelled},
		{"NO ANSWER", call.DirectionOutbound, call.StatusCancelled},
		{"failed", call.DirectionOutbound, call.StatusFailed},
		{"no money", call.DirectionOutbound, call.StatusFailed},
		{"unallocated number", call.DirectionOutbound, call.StatusFailed},
		{"no limit", call.DirectionOutbound, call.StatusFailed},
		{"no day limit", call.DirectionOutbound, call.StatusFailed},
		{"line limit", call.DirectionInbound, call.StatusFailed},
		{"no money, no limit", call.DirectionOutbound, call.StatusFailed},
	}
	for _, tt := range tests {
		f := &fields{form: url.Values{"disposition": {tt.disposition}}}
		if got := f.disposition(tt.dir); got != tt.want || f.err != nil {
			t.Errorf("%q %s: got %s (%v), want %s", tt.disposition, tt.dir, got, f.err, tt.want)
		}
	}
}

func TestCallStartForms(t *testing.T) {
	p := newProvider(t)
	want := time.Date(2024, 5, 14, 7, 21, 5, 0, time.UTC)
	for _, v := range []string{"2024-05-14 10:21:05", "2024-05-14T10:21:05+03:00", "2024-05-14T07:21:05Z"} {
		f := &fields{form: url.Values{"call_start": {v}}}
		if got := p.callStart(f); !got.Equal(want) || f.err != nil {
			t.Errorf("%q: got %v (%v), want %v", v, got, f.err, want)
		}
	}
}

func TestWrongZoneIsLogged(t *testing.T) {
	var buf bytes.Buffer
	p := newProvider(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	reqs := loadCall(t, "out_answered") // ends 15:11:35 MSK
	end := reqs[1]
	atEnd := time.Date(2024, 5, 14, 15, 11, 36, 0, msk)
	for _, now := range []time.Time{atEnd, atEnd.Add(3 * time.Hour), atEnd.Add(3*time.Hour + time.Minute)} {
		if _, err := p.Parse(end.HTTP(), end.Body, now); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "wrong time zone"); n != 1 {
		t.Errorf("logged %d zone warnings, want 1 (none on time, then rate-limited):\n%s", n, buf.String())
	}
	if strings.Contains(buf.String(), "926") {
		t.Errorf("warning leaks a phone number: %s", buf.String())
	}
}

func TestOptionsValidate(t *testing.T) {
	norm, _ := phone.NewNormalizer("RU")
	ok := Options{Secret: "s", Location: time.UTC, Normalizer: norm}
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"no secret", func(o *Options) { o.Secret = "" }},
		{"no location", func(o *Options) { o.Location = nil }},
		{"no normalizer", func(o *Options) { o.Normalizer = nil }},
		{"relative api url", func(o *Options) { o.APIURL = "api.zadarma.com" }},
		{"api url with query", func(o *Options) { o.APIURL = "https://api.zadarma.com/?x=1" }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, tt := range tests {
		o := ok
		tt.edit(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

// signedRequest builds a notification signed with the test secret.
func signedRequest(form url.Values) providertest.Request {
	return providertest.Request{Path: "/webhooks/zadarma", Body: []byte(form.Encode()), Header: http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"},
		"Signature":    {sign([]byte(testSecret), kinds[form.Get("event")].signedString(form))},
	}}
}

func TestAnswerManager(t *testing.T) {
	tests := []struct {
		name, internal, destination, want string
	}{
		{"internal wins", "101", "101", "101"},
		{"extension in destination", "", "104", "104"},
		{"long extension in destination", "", "10045", "10045"},
		{"forwarded to a phone", "", "+79161234567", ""},
		{"forwarded to a national number", "", "89161234567", ""},
	}
	p := newProvider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"event": {eventAnswer}, "call_start": {"2024-05-14 10:21:05"},
				"pbx_call_id": {"in_1"}, "caller_id": {"+79031112233"}, "destination": {tt.destination}}
			if tt.internal != "" {
				form.Set("internal", tt.internal)
			}
			r := signedRequest(form)
			parsed, err := p.Parse(r.HTTP(), r.Body, received)
			if err != nil {
				t.Fatal(err)
			}
			e := parsed.Events[0]
			if e.Manager != tt.want || e.Status != call.StatusAnswered || !e.AnsweredAt.Equal(received) {
				t.Errorf("got manager %q status %s answered %v; want %q, answered at receive time", e.Manager, e.Status, e.AnsweredAt, tt.want)
			}
			if e.ClientPhone != "" {
				t.Errorf("ANSWER set client phone %q", e.ClientPhone)
			}
			wantRank := call.ManagerRang // no manager, no rank
			if tt.want != "" {
				wantRank = call.ManagerAnswered
			}
			if e.ManagerRank != wantRank {
				t.Errorf("rank %d, want %d", e.ManagerRank, wantRank)
			}
		})
	}
}

func TestUnusablePhonesAreDropped(t *testing.T) {
	p := newProvider(t)
	form := url.Values{"event": {eventStart}, "call_start": {"2024-05-14 10:21:05"}, "pbx_call_id": {"in_2"},
		"caller_id": {"anonymous"}, "called_did": {"74951234567"}}
	r := signedRequest(form)
	parsed, err := p.Parse(r.HTTP(), r.Body, received)
	if err != nil {
		t.Fatal(err)
	}
	if e := parsed.Events[0]; e.ClientPhone != "" || e.LinePhone != "+74951234567" {
		t.Errorf("client %q line %q, want no client phone and the line", e.ClientPhone, e.LinePhone)
	}
}
