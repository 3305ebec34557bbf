package call

import (
	"reflect"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// decodesAsUnmarshal fails t unless decodePlain declines b or decodes it
// as json.Unmarshal does.
func decodesAsUnmarshal(t *testing.T, b []byte) bool {
	t.Helper()
	var got Event
	if !got.decodePlain(b) {
		return false
	}
	var want Event
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("decodePlain took %s, json.Unmarshal refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n decodePlain    %+v\n json.Unmarshal %+v", b, got, want)
	}
	return true
}

func TestDecodePlain(t *testing.T) {
	tests := []struct {
		name  string
		rec   string
		plain bool // taken by decodePlain; otherwise left to json.Unmarshal
	}{
		{"empty", `{}`, true},
		{"event", `{"provider":"generic","call_id":"c-1","event_key":"k","received_at":"2026-11-20T06:15:00.5Z","direction":1,"started_at":"2026-11-20T09:15:00+03:00","arrival_end":true,"status":5,"talk_seconds":4294967295}`, true},
		{"duplicate key, last wins", `{"manager":"101","manager":"102","arrival_end":true,"arrival_end":false}`, true},
		{"escape", `{"manager":"a\"b"}`, false},
		{"HTML escape", `{"recording_url":"https://x/?a=1\u0026b=2"}`, false},
		{"UTF-8", `{"manager":"Иван"}`, false},
		{"white space", `{"manager": "101"}`, false},
		{"other spelling", `{"Manager":"101"}`, false},
		{"unknown key", `{"colour":"red"}`, false},
		{"null", `{"manager":null}`, false},
		{"overflow", `{"status":256}`, false},
		{"leading zero", `{"status":05}`, false},
		{"negative", `{"status":-1}`, false},
		{"fraction", `{"talk_seconds":1.5}`, false},
		{"bad time", `{"started_at":"2026-11-20 09:15:00"}`, false},
		{"February 29th", `{"started_at":"2028-02-29T23:59:59.000000001Z"}`, true},
		{"no February 29th", `{"started_at":"2026-02-29T00:00:00Z"}`, false},
		{"leap second", `{"started_at":"2026-12-31T23:59:60Z"}`, false},
		{"ten fraction digits", `{"started_at":"2026-11-20T09:15:00.1234567891Z"}`, true},
		{"empty fraction", `{"started_at":"2026-11-20T09:15:00.Z"}`, false},
		{"lower-case z", `{"started_at":"2026-11-20T09:15:00z"}`, false},
		{"trailing comma", `{"manager":"1",}`, false},
		{"trailing data", `{"manager":"1"}{}`, false},
		{"truncated", `{"manager":"1"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if plain := decodesAsUnmarshal(t, []byte(tt.rec)); plain != tt.plain {
				t.Errorf("decodePlain took it: %v, want %v", plain, tt.plain)
			}
		})
	}
}

// TestMarshalledEventsArePlain: what the spool holds takes the fast path.
func TestMarshalledEventsArePlain(t *testing.T) {
	b, err := benchEvent().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !decodesAsUnmarshal(t, b) {
		t.Errorf("%s: left to json.Unmarshal", b)
	}
}

func FuzzDecodePlain(f *testing.F) {
	b, _ := benchEvent().Marshal()
	f.Add(b)
	f.Add([]byte(`{"provider":"p","arrival_end":true,"talk_seconds":0,"status":255}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodesAsUnmarshal(t, b)
	})
}

func FuzzUTCTime(f *testing.F) {
	for _, s := range []string{"2026-11-20T09:15:00Z", "2028-02-29T23:59:59.000000001Z", "0000-01-01T00:00:00.5Z",
		"9999-12-31T23:59:59.999999999Z", "2026-02-29T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := utcTime(s)
		if !ok {
			return
		}
		var want time.Time
		if err := want.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil {
			t.Fatalf("utcTime took %q, UnmarshalJSON refuses it: %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: utcTime %v, UnmarshalJSON %v", s, got, want)
		}
	})
}
