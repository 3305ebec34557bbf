package mango

import (
	"encoding/json"
	"errors"
	"flag"
	"net/http"
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

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// The key and salt of the spec's test vectors (§2.1).
const (
	testKey  = "k8r2m4x9q1w7e5t3y6u0i2o4p8a1s3d5"
	testSalt = "z9x8c7v6b5n4m3l2k1j0h9g8f7d6s5a4"
)

var received = time.Date(2024, 5, 14, 10, 0, 0, 0, time.UTC)

func newProvider(t testing.TB) *Provider {
	t.Helper()
	return newProviderWith(t, Options{APIKey: testKey, APISalt: testSalt})
}

func newProviderWith(t testing.TB, o Options) *Provider {
	t.Helper()
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	o.Normalizer = norm
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixturePaths maps a fixture's name prefix to the path Mango posts it to.
var fixturePaths = map[string]string{
	"call":         "/webhooks/mango/events/call",
	"summary":      "/webhooks/mango/events/summary",
	"recording":    "/webhooks/mango/events/recording",
	"record_added": "/webhooks/mango/events/record/added",
}

// fixture reads testdata/<name>.json, the json form field of one
// notification, and returns it with the path it is posted to.
func fixture(t testing.TB, name string) (path, payload string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	kind, _, _ := strings.Cut(name, ".")
	path, ok := fixturePaths[kind]
	if !ok {
		t.Fatalf("fixture %s: unknown kind %q", name, kind)
	}
	return path, strings.TrimRight(string(b), "\n")
}

// signed builds the request Mango sends for payload.
func signed(path, payload string) providertest.Request {
	return formRequest(path, url.Values{
		fieldKey:  {testKey},
		fieldSign: {Sign(testKey, testSalt, payload)},
		fieldJSON: {payload},
	})
}

func formRequest(path string, v url.Values) providertest.Request {
	return providertest.Request{Path: path, Body: []byte(v.Encode()),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
}

func parseReq(t testing.TB, p *Provider, r providertest.Request) ([]call.Event, error) {
	t.Helper()
	parsed, err := p.Parse(r.HTTP(), r.Body, received)
	if err == nil && parsed.Reply == nil {
		t.Error("success without a Reply")
	}
	return parsed.Events, err
}

func fixtureNames(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
		}
	}
	return names
}

func TestParseGolden(t *testing.T) {
	p := newProvider(t)
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			events, err := parseReq(t, p, signed(fixture(t, name)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if events == nil {
				events = []call.Event{}
			}
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				b, _ := json.MarshalIndent(events, "", "  ")
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestParseGolden -update)", err)
			}
			var want []call.Event
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(events, want) {
				got, _ := json.MarshalIndent(events, "", "  ")
				t.Errorf("events:\n got %s\nwant %s", got, b)
			}
		})
	}
}

// TestSpecRequest parses the spec's §2.4 request byte for byte: the
// signature test vector and the summary fixture together.
func TestSpecRequest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "spec_summary.form"))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.TrimRight(string(b), "\n"))
	r := providertest.Request{Path: "/webhooks/mango/events/summary", Body: body,
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	got, err := parseReq(t, newProvider(t), r)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want, err := parseReq(t, newProvider(t), signed(fixture(t, "summary.in_answered")))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || len(got) != 1 {
		t.Errorf("spec request: got %+v, want %+v", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		file, kind string
		field      string
	}{
		{"summary_no_entry", "summary", "entry_id"},
		{"summary_no_direction", "summary", "call_direction"},
		{"summary_bad_direction", "summary", "call_direction"},
		{"summary_end_before_create", "summary", "end_time"},
		{"summary_millis", "summary", "create_time"},
		{"summary_no_end", "summary", "end_time"},
		{"summary_talk_outside", "summary", "talk_time"},
		{"summary_talk_too_long", "summary", "talk_time"},
		{"summary_wrong_type", "summary", "create_time"},
		{"summary_extension_object", "summary", "to.extension"},
		{"summary_fraction", "summary", "create_time"},
		{"call_no_entry", "call", "entry_id"},
		{"call_no_call_id", "call", "call_id"},
		{"call_no_seq", "call", "seq"},
		{"call_negative_seq", "call", "seq"},
		{"call_no_timestamp", "call", "timestamp"},
		{"call_no_state", "call", "call_state"},
		{"call_bad_entry_id", "call", "entry_id"},
		{"call_long_call_id", "call", "call_id"},
		{"recording_no_id", "recording", "recording_id"},
		{"recording_no_state", "recording", "recording_state"},
		{"record_added_no_id", "record_added", "recording_id"},
		{"not_object", "summary", "json"},
		{"truncated", "call", "json"},
		{"empty", "recording", "json"},
	}
	p := newProvider(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "bad", tt.file+".json"))
			if err != nil {
				t.Fatal(err)
			}
			events, err := parseReq(t, p, signed(fixturePaths[tt.kind], strings.TrimRight(string(b), "\n")))
			assertError(t, err, http.StatusBadRequest, tt.field)
			if events != nil {
				t.Errorf("returned events with an error")
			}
		})
	}
}

func assertError(t *testing.T, err error, status int, field string) {
	t.Helper()
	var ie *ingest.Error
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *ingest.Error", err)
	}
	if ie.Status != status || ie.Field != field {
		t.Errorf("got %d field %q (%s), want %d field %q", ie.Status, ie.Field, ie.Msg, status, field)
	}
	for _, secret := range []string{testKey, testSalt, "9161234567", "9031112233"} {
		if strings.Contains(ie.Error(), secret) {
			t.Errorf("error message leaks %q: %s", secret, ie.Error())
		}
	}
}

func TestRedeliveryHasSameKey(t *testing.T) {
	p := newProvider(t)
	keys := map[string]string{}
	for _, name := range fixtureNames(t) {
		first, err := parseReq(t, p, signed(fixture(t, name)))
		if err != nil {
			t.Fatal(err)
		}
		again, err := p.Parse(signed(fixture(t, name)).HTTP(), signed(fixture(t, name)).Body, received.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range first {
			if e.EventKey != again.Events[i].EventKey {
				t.Errorf("%s: re-delivery got a new event key: %s vs %s", name, e.EventKey, again.Events[i].EventKey)
			}
			k := e.CallID + " " + e.EventKey
			if other, dup := keys[k]; dup {
				t.Errorf("%s and %s share the event key %q", name, other, k)
			}
			keys[k] = name
		}
	}
}
