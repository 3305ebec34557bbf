package generic

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
	"github.com/callpulse/callpulse/loadgen"
	"github.com/callpulse/callpulse/phone"
)

const testToken = "s3cret-generic-token"

var received = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func newProvider(t testing.TB) *Provider {
	t.Helper()
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(testToken, norm)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(body []byte, auth string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/generic", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func TestParseGolden(t *testing.T) {
	for _, name := range []string{"answered", "batch"} {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := newProvider(t).parse(request(body, "Bearer "+testToken), body, received)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			golden, err := os.ReadFile(filepath.Join("testdata", name+".golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want []call.Event
			if err := json.Unmarshal(golden, &want); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i].EventKey == "" {
					t.Errorf("event %d has no event key", i)
				}
				got[i].EventKey = "KEY"
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("events:\n got %+v\nwant %+v", got, want)
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
		{"answered_without_time.json", 400, "answered_at"},
		{"unknown_status.json", 400, "status"},
		{"unknown_field.json", 400, "colour"},
		{"missing_call_id.json", 400, "call_id"},
		{"bad_direction.json", 400, "direction"},
		{"bad_time.json", 400, "started_at"},
		{"year_out_of_range.json", 400, "started_at"}, // in UTC, the year -1: it could not even be stored
		{"bad_phone.json", 400, "client_phone"},
		{"ended_before_start.json", 400, "ended_at"},
		{"outbound_missed.json", 400, "status"},
		{"bad_recording_url.json", 400, "recording_url"},
		{"second_item_bad.json", 400, "[1].answered_at"},
		{"wrong_type.json", 400, "manager"},
		{"empty_array.json", 400, ""},
		{"truncated.json", 400, ""},
		{"not_object.json", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "bad", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			events, err := newProvider(t).parse(request(body, "Bearer "+testToken), body, received)
			var ie *ingest.Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ingest.Error", err)
			}
			if ie.Status != tt.status || ie.Field != tt.field {
				t.Errorf("got %d field %q (%s), want %d field %q", ie.Status, ie.Field, ie.Msg, tt.status, tt.field)
			}
			if events != nil {
				t.Errorf("returned events with an error")
			}
			if strings.Contains(ie.Error(), "9161234567") {
				t.Errorf("error message leaks a phone number: %s", ie.Error())
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	body, _ := os.ReadFile(filepath.Join("testdata", "answered.json"))
	tests := []struct{ name, auth string }{
		{"missing", ""},
		{"wrong scheme", "Basic " + testToken},
		{"wrong token", "Bearer not-the-token"},
		{"prefix of token", "Bearer " + testToken[:5]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newProvider(t).parse(request(body, tt.auth), body, received)
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Status != http.StatusUnauthorized {
				t.Fatalf("err = %v, want 401", err)
			}
			if strings.Contains(ie.Error(), testToken) {
				t.Error("error message contains the token")
			}
		})
	}
}

func TestRedeliveryHasSameKey(t *testing.T) {
	body, _ := os.ReadFile(filepath.Join("testdata", "answered.json"))
	p := newProvider(t)
	a, _ := p.parse(request(body, "Bearer "+testToken), body, received)
	b, _ := p.parse(request(body, "Bearer "+testToken), body, received.Add(time.Hour))
	if a[0].EventKey != b[0].EventKey {
		t.Errorf("re-delivery got a new event key: %s vs %s", a[0].EventKey, b[0].EventKey)
	}
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.json", "testdata/bad/*.json"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && !strings.Contains(file, "golden") {
				f.Add(b)
			}
		}
	}
	p := newProvider(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := p.parse(request(body, "Bearer "+testToken), body, received)
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Status < 400 || ie.Status > 499 {
				t.Fatalf("error is not a 4xx *ingest.Error: %v", err)
			}
			return
		}
		for _, e := range events {
			if e.CallID == "" || e.ClientPhone == "" || e.StartedAt.IsZero() || e.Status == call.StatusNone {
				t.Fatalf("accepted an incomplete event: %+v", e)
			}
			if e.Status == call.StatusAnswered != !e.AnsweredAt.IsZero() {
				t.Fatalf("answered status and answered_at disagree: %+v", e)
			}
		}
	})
}

// BenchmarkParse is the generic webhook's share of a request: a snapshot as
// the load generator of make bench sends it, a new client number each time.
func BenchmarkParse(b *testing.B) {
	p := newProvider(b)
	body := loadgen.CallSnapshot("bench")
	r := request(nil, "Bearer "+testToken)
	var buf []byte
	i := uint64(0)
	for b.Loop() {
		buf = body(buf[:0], i)
		i++
		if _, err := p.Parse(r, buf, received); err != nil {
			b.Fatal(err)
		}
	}
}
