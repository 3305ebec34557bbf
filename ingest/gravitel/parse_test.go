package gravitel

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/ingest"
)

func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.form"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	p := newProvider(t)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".form")
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, file)
			got, err := serve(t, p, request(body), body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, append(gotJSON, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := readFixture(t, golden)
			if !bytes.Equal(bytes.TrimSpace(gotJSON), bytes.TrimSpace(want)) {
				t.Errorf("outcome differs from %s (run with -update to accept):\n got %s\nwant %s", golden, gotJSON, want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		file  string
		field string
	}{
		{"no_cmd.form", "cmd"},
		{"unknown_cmd.form", "cmd"},
		{"bad_escape.form", ""},
		{"history_no_callid.form", "callid"},
		{"history_callid_control.form", "callid"},
		{"history_no_type.form", "type"},
		{"history_bad_type.form", "type"},
		{"history_no_status.form", "status"},
		{"history_bad_status.form", "status"},
		{"history_no_start.form", "start"},
		{"history_rfc3339_start.form", "start"},
		{"history_local_start.form", "start"},
		{"history_year_0001.form", "start"},
		{"history_no_duration.form", "duration"},
		{"history_negative_duration.form", "duration"},
		{"history_huge_duration.form", "duration"},
		{"history_bad_wait.form", "wait"},
		{"history_bad_phone.form", "phone"},
		{"history_bad_diversion.form", "diversion"},
		{"history_bad_link.form", "link"},
		{"history_long_user.form", "user"},
		{"event_no_type.form", "type"},
		{"event_unknown_type.form", "type"},
		{"event_bad_direction.form", "direction"},
		{"event_direction_conflict.form", "direction"},
		{"event_no_callid.form", "callid"},
	}
	p := newProvider(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFixture(t, filepath.Join("testdata", "bad", tt.file))
			_, err := serve(t, p, request(body), body)
			var ie *ingest.Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ingest.Error", err)
			}
			if ie.Status != http.StatusBadRequest || ie.Field != tt.field {
				t.Errorf("got %d field %q (%s), want 400 field %q", ie.Status, ie.Field, ie.Msg, tt.field)
			}
			for _, secret := range []string{"9161234567", "anonymous", testToken} {
				if strings.Contains(ie.Error(), secret) {
					t.Errorf("error message echoes %q: %s", secret, ie.Error())
				}
			}
		})
	}
}

// TestEventKeys: a re-delivery keeps its key; different events of a call,
// and different calls, never share one (call_events deduplicates by it).
func TestEventKeys(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.form"))
	p := newProvider(t)
	seen := map[string]string{}
	for _, file := range files {
		body := readFixture(t, file)
		first, err := p.Parse(request(body), body, received)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		again, err := p.Parse(request(body), body, received.Add(time.Hour))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for i, e := range first.Events {
			if e.EventKey != again.Events[i].EventKey {
				t.Errorf("%s: re-delivery changed the key %s → %s", file, e.EventKey, again.Events[i].EventKey)
			}
			id := e.CallID + " " + e.EventKey
			if other, dup := seen[id]; dup {
				t.Errorf("%s and %s share the key %s", file, other, id)
			}
			seen[id] = file
		}
	}
	// The same record with one field changed is another event.
	body := readFixture(t, filepath.Join("testdata", "history_in_answered.form"))
	a, _ := p.Parse(request(body), body, received)
	changed := bytes.Replace(body, []byte("duration=132"), []byte("duration=133"), 1)
	b, _ := p.Parse(request(changed), changed, received)
	if a.Events[0].EventKey == b.Events[0].EventKey {
		t.Error("a changed history record kept its key")
	}
}
